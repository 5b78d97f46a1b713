package domain

// Artifact kinds and conditions of CleanupRequested (docs/events.md).
const (
	ArtifactArcAppIdentity    = "ArcAppIdentity"
	ArtifactArcRoleAssignment = "ArcRoleAssignment"
	ArtifactClusterResource   = "ClusterResource"
	ArtifactAppIdentity       = "AppIdentity"
	ArtifactResourceGroup     = "ResourceGroup"

	ConditionAlways                   = "Always"
	ConditionIfArcResourceGroupUnused = "IfArcResourceGroupUnused"
	ConditionIfOwnedAndEmpty          = "IfOwnedAndEmpty"

	ReasonUnregister    = "Unregister"
	ReasonOrphanCleanup = "OrphanCleanup"
)

// Artifact is one thing in Azure that clean-up removes.
type Artifact struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Condition string `json:"condition"`
}

// CleanupStep is one ordered step of a clean-up plan; steps that do not apply are left out and
// the others keep their numbers.
type CleanupStep struct {
	Step     int      `json:"step"`
	Artifact Artifact `json:"artifact"`
}

// Plan is what an unregister or orphan clean-up requests, shown by dry runs without acting.
type Plan struct {
	ClusterID      string        `json:"clusterId"`
	Reason         string        `json:"reason"`
	DisableOnlyArc bool          `json:"disableOnlyArc"`
	Steps          []CleanupStep `json:"steps"`
}
