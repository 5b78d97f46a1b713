package functions

import (
	"context"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
)

// policyExpiryCheck is PolicyExpiryCheck: the policy windows of docs/policy.md.
func policyExpiryCheck(d Deps) invoke.TimerHandler {
	return sweepFunction(d, PolicyExpiryCheck, d.Domain.CheckPolicies)
}

// orphanSweep is OrphanSweep: orphan suspicion and clean-up of docs/policy.md#orphans.
func orphanSweep(d Deps) invoke.TimerHandler {
	return sweepFunction(d, OrphanSweep, d.Domain.SweepOrphans)
}

// sweepFunction runs one bounded sweep (PolicyExpiryCheck or OrphanSweep). The run's ID is the
// host's invocation ID (the cause of the events it emits); IsPastDue is passed on. The events
// the sweep committed (SweepReport.Committed, on error too) are flushed at once, each cluster's
// behind its older pending ones; a failed publish is left to OutboxRelay. A sweep error fails
// the run; the next schedule continues.
func sweepFunction(d Deps, name string, sweep func(context.Context, domain.SweepRun) (domain.SweepReport, error)) invoke.TimerHandler {
	return func(ctx context.Context, t invoke.Timer) (string, error) {
		rep, err := sweep(ctx, domain.SweepRun{ID: invoke.InvocationID(ctx), PastDue: t.IsPastDue})
		publish(ctx, d, rep.Committed)
		if err != nil {
			return "", err
		}
		if rep.GuardActive {
			d.Logger.WarnContext(ctx, "no syncs heard fleet-wide: silence-based transitions held back", "function", name)
		}
		return string(invoke.OutcomeCompleted), nil // the domain logged the run's summary ("sweep done")
	}
}

// outboxRelay is OutboxRelay: it publishes up to RelayBatch pending events per run. Without a
// relay (no Service Bus configured) events stay in the outbox and the run does nothing.
func outboxRelay(d Deps) invoke.TimerHandler {
	return func(ctx context.Context, _ invoke.Timer) (string, error) {
		if d.Relay == nil {
			return string(invoke.OutcomeNoPublisher), nil
		}
		_, err := d.Relay.Run(ctx, d.RelayBatch)
		if err != nil {
			return "", err
		}
		return string(invoke.OutcomeCompleted), nil
	}
}
