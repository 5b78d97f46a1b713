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
