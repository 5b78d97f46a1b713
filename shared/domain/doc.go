// Package domain holds Registrar's rules: the registration lifecycle of Azure Local clusters and
// machines. Messages are docs/messages.md, the sweeps docs/policy.md, the events docs/events.md.
// It is pure: it imports no Azure SDK and no net/http, reads time only from an injected Clock, and
// reaches storage only through the interfaces in store.go, which it owns.
//
// Every inbound message, admin call and sweep ends in one Result whose Outcome is created, updated,
// unchanged, duplicate or rejected; any returned error is transient (the platform retries it).
package domain
