package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

// confirm asks on the terminal before a destructive action; without a terminal it refuses
// (a usage error, exit 2) unless yes is set.
func (s *session) confirm(what string, yes bool) error {
	if yes {
		return nil
	}
	if !s.StdinTerminal {
		return &UsageError{Code: codeConfirm, Msg: what + ": there is no terminal to confirm on"}
	}
	fmt.Fprintf(s.Stderr, "%s? Type yes to proceed: ", what)
	line, _ := bufio.NewReader(s.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return &RejectedError{Code: "NotConfirmed", Reason: "nothing was done"}
	}
	return nil
}

// result is a mutating call's answer (docs/messages.md#outcomes, a dry run's plan, a detail).
type result struct {
	Outcome   string          `json:"outcome"`
	ClusterID string          `json:"clusterId"`
	Plan      *api.Plan       `json:"plan"`
	Detail    json.RawMessage `json:"detail"`
}

func (s *session) showPlan(p api.Plan) {
	fmt.Fprintf(s.Stdout, "Clean-up plan for %s (reason %s, disableOnlyArc %t):\n", p.ClusterID, p.Reason, p.DisableOnlyArc)
	if p.Cloud != "" {
		fmt.Fprintf(s.Stdout, "Acts in cloud %s, tenant %s, subscription %s.\n", text(p.Cloud), text(p.TenantID), text(p.SubscriptionID))
	}
	rows := [][]string{}
	for _, st := range p.Steps {
		rows = append(rows, []string{strconv.Itoa(st.Step), st.Artifact.Kind, st.Artifact.Name, st.Artifact.Condition})
	}
	table(s.Stdout, []string{"STEP", "KIND", "NAME", "CONDITION"}, rows, nil)
}

func (s *session) unregisterCmd() *cobra.Command {
	var dry, yes, onlyArc bool
	c := &cobra.Command{
		Use:   "unregister <clusterId>",
		Short: "Show the clean-up plan, then (confirmed, or --yes) unregister the cluster (Unregister-AzStackHCI)",
		Example: "  registrar unregister 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 --dry-run\n" +
			"  registrar unregister 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 --yes\n" +
			"  registrar unregister 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 --disable-only-arc --yes",
		Args: clusterArgs(false),
		RunE: s.run(func(ctx context.Context, args []string) error {
			path := clusterPath(args[0]) + "/unregister"
			q := func(dry bool) url.Values {
				return url.Values{"dryRun": {strconv.FormatBool(dry)}, "disableOnlyArc": {strconv.FormatBool(onlyArc)}}
			}
			b, err := s.client.do(ctx, call{method: "POST", path: path, query: q(true), perm: api.PermClustersUnregister})
			if err != nil {
				return err
			}
			if dry || !s.json() { // -o json without --dry-run prints the unregister's answer only; the plan is still read
				if err := show(s, b, s.showDryRun); err != nil || dry {
					return err
				}
			} else if err := decode(b, &result{}); err != nil {
				return err
			}
			if err := s.confirm("Unregister cluster "+args[0], yes); err != nil {
				return err
			}
			b, err = s.client.do(ctx, call{method: "POST", path: path, query: q(false), perm: api.PermClustersUnregister})
			if err != nil {
				return err
			}
			return s.showResult(b, "unregister "+args[0])
		}),
	}
	c.Flags().BoolVar(&dry, "dry-run", false, "show the plan only")
	c.Flags().BoolVar(&yes, "yes", false, "unregister without asking")
	c.Flags().BoolVar(&onlyArc, "disable-only-arc", false, "disable Arc integration only (steps 1-2) and keep the registration")
	return c
}

// showDryRun prints a dry run's plan, when the answer has one.
func (s *session) showDryRun(r result) error {
	if r.Plan != nil {
		s.showPlan(*r.Plan)
	}
	return nil
}

// showResult prints a mutating call's outcome (or, for -o json, the answer as received).
func (s *session) showResult(b []byte, what string) error {
	return show(s, b, func(r result) error {
		fmt.Fprintf(s.Stdout, "%s: %s\n", what, r.Outcome)
		return nil
	})
}

func (s *session) repairCmd() *cobra.Command {
	var spn spnFlags
	c := &cobra.Command{
		Use:   "repair <clusterId> [--arc-spn-app-id ID --arc-spn-expires T]",
		Short: "Repair a registration, e.g. after its Arc credential expired (Register-AzStackHCI -RepairRegistration)",
		Long: "Repair a registration (Register-AzStackHCI -RepairRegistration): it keeps every registration choice and clears\n" +
			"credentialExpired. An Arc onboarding SPN's credential is not rotated for you: after regenerating it, give its\n" +
			"app ID and new expiry so the warnings follow the new credential.",
		Example: "  registrar repair 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11\n" +
			"  registrar repair 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 --arc-spn-app-id 0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f --arc-spn-expires 2027-11-01",
		Args:    clusterArgs(false),
		PreRunE: func(*cobra.Command, []string) error { return spn.check() },
		RunE: s.run(func(ctx context.Context, args []string) error {
			var body any
			if a := spn.body(); a != nil {
				body = map[string]any{"arcSpn": a}
			}
			b, err := s.client.do(ctx, call{method: "POST", path: clusterPath(args[0]) + "/repair", body: body, perm: api.PermClustersRegister})
			if err != nil {
				return err
			}
			return s.showResult(b, "repair "+args[0])
		}),
	}
	spn.flags(c.Flags(), "a regenerated Arc onboarding SPN")
	return c
}

func (s *session) orphansCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "orphans",
		Short:   "List suspected orphans with their grace deadline and clean-up plan",
		Example: "  registrar orphans\n  registrar orphans cleanup --dry-run",
		Args:    nArgs(0, "no arguments (or the subcommand cleanup)"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			os, printed, err := listAll[api.OrphanView](ctx, s, "/orphans", nil)
			if printed || err != nil {
				return err
			}
			s.orphanTable(os)
			return nil
		}),
	}
	c.AddCommand(s.orphansCleanupCmd())
	return c
}

// orphansCleanupCmd is `orphans cleanup`: the plan (a dry run), then, confirmed, the clean-up.
func (s *session) orphansCleanupCmd() *cobra.Command {
	var dry, yes bool
	cleanup := &cobra.Command{
		Use:     "cleanup",
		Short:   "Clean up suspected orphans whose grace period has ended (never before)",
		Example: "  registrar orphans cleanup --dry-run\n  registrar orphans cleanup --yes",
		Args:    nArgs(0, "no arguments"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			b, err := s.client.do(ctx, call{method: "POST", path: "/orphans/cleanup", query: url.Values{"dryRun": {"true"}}, perm: api.PermOrphansCleanup})
			if err != nil {
				return err
			}
			if dry || !s.json() { // -o json without --dry-run prints the clean-up's answer only
				if err := show(s, b, s.showCleanup); err != nil || dry {
					return err
				}
			}
			var plan struct{ Items []json.RawMessage }
			if err := decode(b, &plan); err != nil {
				return err
			}
			if dry || len(plan.Items) == 0 { // nothing to clean up: nothing to confirm
				if s.json() && !dry {
					s.printRaw(b)
				}
				return nil
			}
			if err := s.confirm("Clean up the orphans above", yes); err != nil {
				return err
			}
			b, err = s.client.do(ctx, call{method: "POST", path: "/orphans/cleanup", query: url.Values{"dryRun": {"false"}}, perm: api.PermOrphansCleanup})
			if err != nil {
				return err
			}
			return show(s, b, s.showCleanup)
		}),
	}
	cleanup.Flags().BoolVar(&dry, "dry-run", false, "show what would be cleaned up only")
	cleanup.Flags().BoolVar(&yes, "yes", false, "clean up without asking")
	return cleanup
}

func (s *session) orphanTable(os []api.OrphanView) {
	now := s.now()
	os = slices.Clone(os) // the API lists them by cluster ID: show the soonest grace end first
	slices.SortStableFunc(os, func(a, b api.OrphanView) int { return a.GraceUntil.Compare(b.GraceUntil) })
	rows := [][]string{}
	for _, o := range os {
		steps := []string{}
		for _, st := range o.Plan.Steps {
			steps = append(steps, fmt.Sprintf("%d %s %s", st.Step, st.Artifact.Kind, st.Artifact.Name))
		}
		rows = append(rows, []string{o.ClusterID, orDash(o.ClusterName), o.Reason, when(&o.GraceUntil, now), strings.Join(steps, "; ")})
	}
	table(s.Stdout, []string{"CLUSTER ID", "NAME", "REASON", "GRACE UNTIL", "CLEAN-UP"}, rows, nil)
}

// cleanupAnswer is an orphans/cleanup answer (docs/admin-api.md).
type cleanupAnswer struct {
	Outcome string     `json:"outcome"`
	DryRun  bool       `json:"dryRun"`
	Items   []api.Plan `json:"items"`
}

// showCleanup prints an orphans/cleanup answer: the plans carried out (or, dry, that would be).
func (s *session) showCleanup(r cleanupAnswer) error {
	if len(r.Items) == 0 {
		fmt.Fprintln(s.Stdout, "no suspected orphan's grace period has ended: nothing to clean up")
	}
	for _, p := range r.Items {
		s.showPlan(p)
	}
	if !r.DryRun {
		fmt.Fprintf(s.Stdout, "orphans cleanup: %s (%d cluster(s))\n", r.Outcome, len(r.Items))
	}
	return nil
}
