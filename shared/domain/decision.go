package domain

import "context"

// Decision is what a decide function concluded from one read of a cluster's partition: the
// change (Cluster, History, Events), or the refusal (Problem); the answer besides the outcome
// (Plan, Detail, Outcome); the writes outside the commit (Before, After); and how update commits
// it (Mode).
type Decision struct {
	// Cluster is the new state (a modified copy of the record's, see clone); nil or an unchanged
	// copy means nothing changes (outcome unchanged; the idempotency marker is still committed).
	Cluster *Cluster
	Problem *Problem // a refusal: nothing is committed by update
	History []HistoryEntry
	Events  []EventSpec // emitted only when the state changed

	Plan   *Plan
	Detail any
	// Outcome overrides the computed outcome (created/updated/unchanged) when set.
	Outcome Outcome

	// Before runs just before the commit, only when the state changes (index hints readers
	// verify, claims on other clusters); its error is transient, so the message is retried.
	Before Write
	// After runs after a successful commit (removing stale hints); its error is logged only,
	// because the message is already committed and a redelivery would be a duplicate.
	After Write

	// Mode says how update commits the decision beyond its state; zero: a plain change.
	Mode Mode
}

// Write is a write a decision makes outside its commit (Decision.Before, Decision.After).
type Write func(ctx context.Context) error

// Mode is a set of the ways update commits a Decision beyond its state.
type Mode uint8

const (
	// ModeCommand marks an operator's or another system's command (Register, Unregister,
	// RepairRegistration, StartMachineReset): applied without a recorded change (nothing changed,
	// or only untracked fields such as lastConnected) it still leaves one history entry, What
	// "accepted" and After its outcome, so who asked what, and that it was applied, can be seen.
	ModeCommand Mode = 1 << iota
	// ModeOwnSchedule says the caller writes the due row of Cluster.ScheduledCheck itself, after
	// the commit (a sweep: the due row it is working on guards a crash until then); otherwise
	// update schedules the next check with the commit when it moved earlier. A state that moved
	// only its ScheduledCheck or deadline rows is then committed too (outcome Unchanged).
	ModeOwnSchedule
)

// has reports whether m includes f.
func (m Mode) has(f Mode) bool { return m&f != 0 }
