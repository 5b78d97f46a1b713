package domain

// The values a cluster list can be filtered by (docs/admin-api.md, GET /clusters and bulk
// filters): every value of the field, in the order the Admin API, its clients and the dashboard
// list them. Each call returns a new slice.

// RegistrationStatuses are the values of registrationStatus.
func RegistrationStatuses() []string {
	return []string{StatusNotYet, StatusRegistered, StatusOutOfPolicy}
}

// ConnectionStatuses are the values of connectionStatus.
func ConnectionStatuses() []string {
	return []string{StatusNotYet, StatusConnected, StatusDisconnect, StatusOutOfPolicy}
}

// OrphanStatuses are the values of orphan.
func OrphanStatuses() []string {
	return []string{OrphanNone, OrphanSuspected, OrphanCleanedUp}
}
