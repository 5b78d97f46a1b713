package cli

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/spf13/cobra"
)

func machinePath(cluster, machine string) string {
	return "/machines/" + url.PathEscape(cluster) + "/" + url.PathEscape(machine) + "/reset"
}

func (s *session) resetCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "reset",
		Short:   "Reset a machine's Arc bootstrap without reinstalling (Start-/Get-ArcBootstrapReset)",
		Example: "  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1 --wait\n  registrar reset status 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1",
	}
	var (
		wait    bool
		timeout time.Duration
	)
	start := &cobra.Command{
		Use:   "start <clusterId> <machine>",
		Short: "Start a reset (Start-ArcBootstrapReset); --wait follows each stage until it ends",
		Long: "Start a reset (Start-ArcBootstrapReset). With --wait, shows each stage's state and the elapsed time until the\n" +
			"operation ends: exit 0 when it Succeeded, 1 when it Failed or Stalled.",
		Example: "  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1\n  registrar reset start 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1 --wait",
		Args:    clusterArgs(true),
		RunE: s.run(func(ctx context.Context, args []string) error {
			path := machinePath(args[0], args[1])
			b, err := s.client.do(ctx, call{method: "POST", path: path, perm: "machines/reset"})
			if err != nil {
				return err
			}
			if !wait {
				return s.showResult(b, "reset start "+args[1])
			}
			if !s.json() {
				var r result
				if err := decode(b, &r); err != nil {
					return err
				}
				fmt.Fprintf(s.Stdout, "reset start %s: %s\n", args[1], r.Outcome)
			}
			return s.waiting(ctx, timeout, func(ctx context.Context) error { return s.waitReset(ctx, path) })
		}),
	}
	start.Flags().BoolVar(&wait, "wait", false, "follow the reset until it ends")
	addTimeoutFlag(start.Flags(), &timeout)
	status := &cobra.Command{
		Use:     "status <clusterId> <machine>",
		Short:   "Show a machine's reset: overall status, each stage, elapsed (Get-ArcBootstrapResetStatus)",
		Example: "  registrar reset status 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 node1",
		Args:    clusterArgs(true),
		RunE: s.run(func(ctx context.Context, args []string) error {
			b, err := s.client.do(ctx, call{method: "GET", path: machinePath(args[0], args[1]), perm: "clusters/read"})
			if err != nil {
				return err
			}
			if s.json() {
				s.printRaw(b)
				return nil
			}
			var v domain.ResetStatusView
			if err := decode(b, &v); err != nil {
				return err
			}
			s.showReset(v)
			return nil
		}),
	}
	c.AddCommand(start, status)
	return c
}

// showReset prints the Get-ArcBootstrapResetStatus view.
func (s *session) showReset(v domain.ResetStatusView) {
	now := s.now()
	fmt.Fprintf(s.Stdout, "Reset of %s in %s (operation %s): %s, elapsed %s\n", v.Machine, v.ClusterID, v.OperationID, s.st.status(v.Status), v.Elapsed)
	fmt.Fprintf(s.Stdout, "Started %s; last heard %s\n", when(&v.StartedAt, now), when(&v.LastHeardAt, now))
	if v.Error != "" {
		fmt.Fprintln(s.Stdout, "Error:", v.Error)
	}
	s.stageTable(v)
}

func (s *session) stageTable(v domain.ResetStatusView) {
	now := s.now()
	rows := [][]string{}
	for _, st := range v.Stages {
		rows = append(rows, []string{st.Name, st.Status, when(&st.UpdatedAt, now)})
	}
	table(s.Stdout, []string{"STAGE", "STATUS", "UPDATED"}, rows, s.st.status)
}

// waitReset polls the reset until it is no longer InProgress. On a terminal it redraws the
// stages in place; otherwise it prints a plain line for each change. Succeeded → nil;
// Failed or Stalled → a RejectedError (exit 1).
func (s *session) waitReset(ctx context.Context, path string) error {
	seen := map[string]string{}
	drawn := 0
	for {
		b, err := s.client.do(ctx, call{method: "GET", path: path, perm: "clusters/read"})
		if err != nil {
			return err
		}
		var v domain.ResetStatusView
		if err := decode(b, &v); err != nil {
			return err
		}
		done := v.Status != domain.ResetInProgress
		s.waitState = resetState(v)
		switch {
		case s.json():
			if done {
				s.printRaw(b)
			}
		case s.StdoutTerminal:
			if drawn > 0 {
				fmt.Fprintf(s.Stdout, "\x1b[%dA\x1b[J", drawn)
			}
			fmt.Fprintf(s.Stdout, "%s  elapsed %s\n", s.st.status(v.Status), v.Elapsed)
			for _, st := range v.Stages {
				fmt.Fprintf(s.Stdout, "  %-18s %s\n", st.Name, s.st.status(st.Status))
			}
			drawn = 1 + len(v.Stages)
		default:
			for _, st := range v.Stages {
				if seen[st.Name] != st.Status {
					seen[st.Name] = st.Status
					fmt.Fprintf(s.Stdout, "%s %s (elapsed %s)\n", st.Name, st.Status, v.Elapsed)
				}
			}
		}
		if done {
			if !s.json() {
				fmt.Fprintf(s.Stdout, "reset %s: %s after %s\n", v.Machine, s.st.status(v.Status), v.Elapsed)
			}
			if v.Status == domain.ResetSucceeded {
				return nil
			}
			reason := v.Error
			if reason == "" {
				reason = "the reset ended " + v.Status + "; see registrar reset status"
			}
			return &RejectedError{Code: "Reset" + v.Status, Reason: reason}
		}
		if err := sleep(ctx, s.poll()); err != nil {
			return err
		}
	}
}

// resetState is a reset's state in one line: its status and its stages'.
func resetState(v domain.ResetStatusView) string {
	st := v.Status
	for _, g := range v.Stages {
		st += fmt.Sprintf(", %s %s", g.Name, g.Status)
	}
	return st + " (elapsed " + v.Elapsed + ")"
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
