package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

func machinePath(cluster, machine string) string {
	return "/machines/" + url.PathEscape(cluster) + "/" + url.PathEscape(machine) + "/reset"
}

func (s *session) resetCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "reset",
		Short: "Reset a machine's Arc bootstrap without reinstalling (Start-/Get-ArcBootstrapReset)",
		Example: "  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1 --wait\n  registrar reset status 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1\n" +
			"  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1 --restart\n  registrar reset cancel 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1",
	}
	c.AddCommand(s.resetStartCmd(), s.resetStatusCmd(), s.resetCancelCmd())
	return c
}

func (s *session) resetStartCmd() *cobra.Command {
	var (
		wait, restart bool
		timeout       time.Duration
	)
	start := &cobra.Command{
		Use:   "start <clusterId> <machine>",
		Short: "Start a reset (Start-ArcBootstrapReset); --wait follows each stage until it ends",
		Long: "Start a reset (Start-ArcBootstrapReset) of a registered machine. A reset already running (or Stalled, or\n" +
			"Failed) is shown instead; --restart replaces a Stalled or Failed one. With --wait, shows each stage's state and\n" +
			"the elapsed time until the operation ends: exit 0 when it Succeeded (saying how to register the machine\n" +
			"again), 1 when it Failed, Stalled or was cancelled, or when --timeout passes first.",
		Example: "  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1\n  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1 --wait\n" +
			"  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1 --restart --wait --timeout 2h",
		Args: clusterArgs(true),
		RunE: s.run(func(ctx context.Context, args []string) error {
			var q url.Values
			if restart {
				q = url.Values{"restart": {"true"}}
			}
			b, err := s.client.do(ctx, call{method: "POST", path: machinePath(args[0], args[1]), query: q, perm: api.PermMachinesReset})
			if err != nil {
				return err
			}
			if !wait || !s.json() { // -o json with --wait prints the reset's end only
				shown := func(r resetStart) error { return s.showResetStart(r, args) }
				if err := show(s, b, shown); err != nil || !wait {
					return err
				}
			}
			return s.waiting(ctx, timeout, func(ctx context.Context) error { return s.waitReset(ctx, args[0], args[1]) })
		}),
	}
	start.Flags().BoolVar(&wait, "wait", false, "follow the reset until it ends")
	start.Flags().BoolVar(&restart, "restart", false, "replace a Stalled or Failed reset with a new one (the old ends Superseded)")
	addTimeoutFlag(start.Flags(), &timeout)
	return start
}

// machineCall is a reset subcommand on one machine: `<verb> <clusterId> <machine>` sends one
// request (method, perm) to the machine's reset route and hands its answer to show.
type machineCall struct {
	verb, short, method, perm string
	show                      func(ctx context.Context, b []byte, cluster, machine string) error
}

// machineCommand builds c's cobra command.
func (s *session) machineCommand(c machineCall) *cobra.Command {
	return &cobra.Command{
		Use:     c.verb + " <clusterId> <machine>",
		Short:   c.short,
		Example: "  registrar reset " + c.verb + " 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1",
		Args:    clusterArgs(true),
		RunE: s.run(func(ctx context.Context, args []string) error {
			b, err := s.client.do(ctx, call{method: c.method, path: machinePath(args[0], args[1]), perm: c.perm})
			if err != nil {
				return err
			}
			return c.show(ctx, b, args[0], args[1])
		}),
	}
}

func (s *session) resetCancelCmd() *cobra.Command {
	return s.machineCommand(machineCall{verb: "cancel", method: "DELETE", perm: api.PermMachinesReset,
		short: "Cancel a Stalled reset: it ends Cancelled and the machine stays registered",
		show: func(_ context.Context, b []byte, _, machine string) error {
			return s.showResult(b, "reset cancel "+machine)
		}})
}

func (s *session) resetStatusCmd() *cobra.Command {
	return s.machineCommand(machineCall{verb: "status", method: "GET", perm: api.PermClustersRead,
		short: "Show a machine's reset: overall status, each stage, elapsed (Get-ArcBootstrapResetStatus)",
		show:  s.showResetStatus})
}

// showResetStatus prints a reset status answer: raw with -o json, else the view and, after a
// successful reset, how to register the machine again.
func (s *session) showResetStatus(ctx context.Context, b []byte, cluster, _ string) error {
	return show(s, b, func(v api.ResetStatusView) error {
		s.showReset(v)
		if v.Status == api.ResetSucceeded {
			s.reregisterHint(ctx, cluster, v.Machine)
		}
		return nil
	})
}

// resetStart is a reset start's answer (docs/admin-api.md): its outcome and the operation.
type resetStart struct {
	Outcome string             `json:"outcome"`
	Detail  api.ResetOperation `json:"detail"`
}

// showResetStart prints a reset start's answer: the outcome and, when it answered an operation
// already there, its status and what to do about it.
func (s *session) showResetStart(r resetStart, args []string) error {
	fmt.Fprintf(s.Stdout, "reset start %s: %s (operation %s %s)\n", args[1], r.Outcome, r.Detail.OperationID, s.st.status(r.Detail.Status))
	switch {
	case r.Outcome != string(api.Unchanged):
	case r.Detail.Status == api.ResetStalled:
		fmt.Fprintf(s.Stdout, "It reported nothing for a while: replace it with registrar reset start %s %s --restart, or cancel it with registrar reset cancel %s %s\n",
			args[0], args[1], args[0], args[1])
	case r.Detail.Status == api.ResetFailed:
		fmt.Fprintf(s.Stdout, "It failed (%s): start a new one with registrar reset start %s %s --restart\n", r.Detail.Error, args[0], args[1])
	}
	return nil
}

// showReset prints the Get-ArcBootstrapResetStatus view.
func (s *session) showReset(v api.ResetStatusView) {
	now := s.now()
	fmt.Fprintf(s.Stdout, "Reset of %s in %s (operation %s): %s, elapsed %s\n", v.Machine, v.ClusterID, v.OperationID, s.st.status(v.Status), v.Elapsed)
	fmt.Fprintf(s.Stdout, "Started %s; last heard %s\n", when(&v.StartedAt, now), when(&v.LastHeardAt, now))
	if v.Error != "" {
		fmt.Fprintln(s.Stdout, "Error:", v.Error)
	}
	s.stageTable(v)
}

// stageTable prints a reset's stages, each with its status and when it last changed.
func (s *session) stageTable(v api.ResetStatusView) {
	now := s.now()
	rows := [][]string{}
	for _, st := range v.Stages {
		rows = append(rows, []string{st.Name, st.Status, when(&st.UpdatedAt, now)})
	}
	table(s.Stdout, []string{"STAGE", "STATUS", "UPDATED"}, rows, s.st.status)
}

// waitReset polls the reset until it is no longer InProgress, showing its progress
// (showProgress). Succeeded → nil, after the words of Start-ArcBootstrapReset (the machine is
// unregistered; how to register it again); Failed, Stalled or Cancelled → a RejectedError (exit 1).
func (s *session) waitReset(ctx context.Context, cluster, machine string) error {
	path := machinePath(cluster, machine)
	p := resetProgress{seen: map[string]string{}}
	for {
		b, err := s.client.do(ctx, call{method: "GET", path: path, perm: api.PermClustersRead})
		if err != nil {
			return err
		}
		var v api.ResetStatusView
		if err := decode(b, &v); err != nil {
			return err
		}
		done := v.Status != api.ResetInProgress
		s.waitState = resetState(v)
		s.showProgress(&p, v, b, done)
		if done {
			return s.resetEnded(ctx, cluster, v)
		}
		if err := sleep(ctx, s.poll()); err != nil {
			return err
		}
	}
}

// resetProgress is what waitReset has shown so far: each stage's last status printed, and the
// lines drawn on a terminal.
type resetProgress struct {
	seen  map[string]string
	drawn int
}

// showProgress shows one poll of a reset: with -o json only the final answer (raw); on a terminal
// the stages redrawn in place; otherwise a plain line for each stage that changed.
func (s *session) showProgress(p *resetProgress, v api.ResetStatusView, raw []byte, done bool) {
	switch {
	case s.json():
		if done {
			s.printRaw(raw)
		}
	case s.StdoutTerminal:
		if p.drawn > 0 {
			fmt.Fprintf(s.Stdout, "\x1b[%dA\x1b[J", p.drawn)
		}
		fmt.Fprintf(s.Stdout, "%s  elapsed %s\n", s.st.status(v.Status), v.Elapsed)
		for _, st := range v.Stages {
			fmt.Fprintf(s.Stdout, "  %-18s %s\n", st.Name, s.st.status(st.Status))
		}
		p.drawn = 1 + len(v.Stages)
	default:
		for _, st := range v.Stages {
			if p.seen[st.Name] != st.Status {
				p.seen[st.Name] = st.Status
				fmt.Fprintf(s.Stdout, "%s %s (elapsed %s)\n", st.Name, st.Status, v.Elapsed)
			}
		}
	}
}

// resetEnded reports a reset that is no longer InProgress: nil for Succeeded (with how to
// register the machine again), else a RejectedError Reset<status>.
func (s *session) resetEnded(ctx context.Context, cluster string, v api.ResetStatusView) error {
	if !s.json() {
		fmt.Fprintf(s.Stdout, "reset %s: %s after %s\n", v.Machine, s.st.status(v.Status), v.Elapsed)
	}
	if v.Status == api.ResetSucceeded {
		if !s.json() {
			s.reregisterHint(ctx, cluster, v.Machine)
		}
		return nil
	}
	reason := v.Error
	if reason == "" {
		reason = "the reset ended " + v.Status + "; see registrar reset status"
	}
	return &RejectedError{Code: "Reset" + v.Status, Reason: reason}
}

// resetState is a reset's state in one line: its status and its stages'.
func resetState(v api.ResetStatusView) string {
	st := v.Status
	for _, g := range v.Stages {
		st += fmt.Sprintf(", %s %s", g.Name, g.Status)
	}
	return st + " (elapsed " + v.Elapsed + ")"
}

// reregisterHint says, as Start-ArcBootstrapReset does, that the machine is unregistered and how
// to register it again: a Register naming it, with the values its cluster was registered with
// (or, once a Register named it again, that it is registered again).
func (s *session) reregisterHint(ctx context.Context, clusterID, machine string) {
	fmt.Fprintf(s.Stdout, "Machine %s unregistered successfully.\n", machine)
	v, _, err := s.clusterView(ctx, clusterID)
	if err == nil && v != nil && registeredNode(*v, machine) {
		fmt.Fprintf(s.Stdout, "Machine %s has been registered again since.\n", machine)
		return
	}
	if err != nil || v == nil || v.RegistrationStatus != api.StatusRegistered {
		fmt.Fprintf(s.Stdout, "To register it again, send a Register naming it (registrar register … --node %s).\n", machine)
		return
	}
	args := []string{"registrar register", "--cluster-id " + v.ClusterID, "--cluster-name " + v.ClusterName, "--region " + v.Region,
		"--subscription-id " + v.SubscriptionID, "--tenant-id " + v.TenantID, "--resource-name " + v.ResourceName,
		"--resource-group " + v.ResourceGroup, "--arc-resource-group " + v.ArcResourceGroup}
	if v.Cloud != "" && v.Cloud != api.CloudPublic {
		args = append(args, "--cloud "+v.Cloud)
	}
	args = append(args, "--node "+machine, "--wait")
	fmt.Fprintf(s.Stdout, "To register it again, run:\n  %s\n", strings.Join(args, " "))
}

// registeredNode reports whether machine is a Registered node of the cluster v shows.
func registeredNode(v api.ClusterView, machine string) bool {
	for _, n := range v.Nodes {
		if strings.EqualFold(n.Name, machine) {
			return n.RegistrationStatus == api.StatusRegistered
		}
	}
	return false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
