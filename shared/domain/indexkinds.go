package domain

// The index kinds: every kind of IndexStore row the domain keeps (docs/storage.md), in one place.
const (
	// kindMachine: a machine identity's holding cluster (group identityGroup, name the machine,
	// lower case); a hint that readers verify against the cluster.
	kindMachine = "machine"
	// kindArcGroup: a cluster using an Arc resource group (group identityGroup, name the cluster).
	kindArcGroup = "arcgroup"
	// kindOperation: a machine reset operation's cluster (name the operation ID).
	kindOperation = "operation"
	// kindStandalone: a standalone machine's record (name the machine).
	kindStandalone = "standalone"
	// kindHeld: a cluster whose silence the mass-disconnect guard held back, read by the first
	// run after syncs are heard again.
	kindHeld = "held"
	// kindBulk: a bulk request's Idempotency-Key record.
	kindBulk = "bulk"
	// kindSecret: the deployment's generated keys.
	kindSecret = "secret"
	// legacyDeadlineKind: the per-cluster, per-day rows of an earlier deadline-index layout
	// (Cluster.AttentionAt); a cluster's is deleted at its next write.
	legacyDeadlineKind = "deadline"
)
