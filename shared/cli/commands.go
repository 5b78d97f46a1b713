package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

// root builds the command tree for one session.
func (s *session) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "registrar",
		Short: "Operate Registrar: Azure Local cluster registration, over its Admin API",
		Long: "registrar drives Registrar through its Admin API (and the registration-requests queue for register).\n\n" +
			"Exit codes: 0 success; 1 the service refused or failed; 2 usage error; 3 not signed in or not permitted; 4 the service could not be reached.",
		Example: "  registrar list --connection-status Disconnected\n" +
			"  REGISTRAR_ENDPOINT=https://registrar.example.net REGISTRAR_SCOPE=<client-id>/.default registrar status <clusterId>\n" +
			"  registrar config set-context prod --endpoint https://registrar.example.net --scope <client-id>/.default && registrar config use-context prod",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	// `registrar completion bash|zsh|fish|powershell` is cobra's own generator.
	root.CompletionOptions.HiddenDefaultCmd = false
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Msg: err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVar(&s.endpoint, "endpoint", "", "Registrar's base URL (env REGISTRAR_ENDPOINT; default "+DefaultEndpoint+")")
	pf.StringVar(&s.scope, "scope", "", "token scope for a bearer token from DefaultAzureCredential (env REGISTRAR_SCOPE; none: no token)")
	pf.StringVarP(&s.output, "output", "o", "table", "output: table (for people) or json (the API's JSON; lists merged as one {\"items\":[...]})")
	pf.BoolVar(&s.noColor, "no-color", false, "never colour the output (colour is used only on a terminal without NO_COLOR)")
	pf.StringVar(&s.contextName, "context", "", "the context (registrar config) to take --endpoint, --scope and --namespace from; default: the current one")
	root.AddCommand(s.statusCmd(), s.listCmd(), s.historyCmd(), s.registerCmd(), s.unregisterCmd(), s.repairCmd(), s.machinesCmd(),
		s.resetCmd(), s.upcomingCmd(), s.orphansCmd(), s.rejectionsCmd(), s.deadlettersCmd(),
		s.configCmd(), s.versionCmd(), s.bulkCmd(), s.whoamiCmd())
	s.addCompletions(root)
	return root
}

// pages follows nextCursor from the first page of path and returns every item, in order.
func (s *session) pages(ctx context.Context, path string, q url.Values, perm string) ([]json.RawMessage, error) {
	if q == nil {
		q = url.Values{}
	}
	var items []json.RawMessage
	seen := map[string]bool{}
	for {
		b, err := s.client.do(ctx, call{method: "GET", path: path, query: q, perm: perm})
		if err != nil {
			return nil, err
		}
		var p struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := decode(b, &p); err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if p.NextCursor == "" {
			return items, nil
		}
		if seen[p.NextCursor] {
			return nil, fmt.Errorf("BadAnswer: the service repeated the cursor %q", p.NextCursor)
		}
		seen[p.NextCursor] = true
		q.Set("cursor", p.NextCursor)
	}
}

// decodeItems decodes each raw item into a T.
func decodeItems[T any](raw []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(raw))
	for _, r := range raw {
		var v T
		if err := decode(r, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// listAll reads every page of a list the caller reads with clusters/read. With -o json it prints
// the items as the API sent them and says so (printed); otherwise it returns them decoded.
func listAll[T any](ctx context.Context, s *session, path string, q url.Values) (items []T, printed bool, err error) {
	raw, err := s.pages(ctx, path, q, api.PermClustersRead)
	if err != nil {
		return nil, false, err
	}
	if s.json() {
		return nil, true, s.printItems(raw)
	}
	items, err = decodeItems[T](raw)
	return items, false, err
}

func clusterPath(id string) string { return "/clusters/" + url.PathEscape(id) }

func (s *session) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "status <clusterId>",
		Short:   "Show one cluster as Get-AzureStackHCI does: statuses, deadlines and nodes",
		Example: "  registrar status 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11\n  registrar status 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 -o json | jq .nodes",
		Args:    clusterArgs(false),
		RunE: s.run(func(ctx context.Context, args []string) error {
			b, err := s.client.do(ctx, call{method: "GET", path: clusterPath(args[0]), perm: api.PermClustersRead})
			if err != nil {
				return err
			}
			return show(s, b, s.showCluster)
		}),
	}
}

// showCluster prints the cluster view (docs/admin-api.md#the-cluster-view): a field list, the deadlines and the nodes.
func (s *session) showCluster(v api.ClusterView) error {
	now := s.now()
	cred := when(v.CredentialExpiresAt, now)
	if v.CredentialExpired {
		cred += "  " + s.st.status("credentialExpired") + " (run: registrar repair " + v.ClusterID + ")"
	}
	orphan := s.st.status(v.Orphan)
	if v.OrphanGraceUntil != nil {
		orphan += ", grace until " + when(v.OrphanGraceUntil, now)
	}
	conn := s.st.status(v.ConnectionStatus)
	if v.SilenceHeld {
		conn += "  (silence held: no syncs heard fleet-wide, so it is not judged yet)"
	}
	fields := [][2]string{
		{"Cluster ID", v.ClusterID}, {"Name", v.ClusterName}, {"Resource ID", orDash(v.ResourceID)},
		{"Cloud", orDash(v.Cloud)}, {"Region", orDash(v.Region)},
		// The values a re-run of register must repeat (Get-AzureStackHCI shows them).
		{"Subscription", orDash(v.SubscriptionID)}, {"Tenant", orDash(v.TenantID)}, {"Resource group", orDash(v.ResourceGroup)},
		{"Resource name", orDash(v.ResourceName)}, {"Arc resource group", orDash(v.ArcResourceGroup)},
		{"App identities", orDash(strings.Join(v.AppIdentities, ", "))},
		{"Registration", s.st.status(v.RegistrationStatus)}, {"Cluster", s.st.status(v.ClusterStatus)},
		{"Connection", conn}, {"Last connected", when(v.LastConnected, now)},
		{"Registered at", when(v.RegisteredAt, now)}, {"Arc integration", v.ArcIntegration},
		{"Credential expires", cred}, {"Orphan", orphan},
	}
	for _, f := range fields {
		fmt.Fprintf(s.Stdout, "%-20s%s\n", f[0]+":", f[1])
	}
	if len(v.Deadlines) > 0 {
		fmt.Fprintln(s.Stdout, "\nDeadlines:")
		s.deadlineTable(v.Deadlines, false)
	}
	fmt.Fprintln(s.Stdout, "\nNodes:")
	rows := [][]string{}
	for _, n := range v.Nodes {
		reset := "-"
		if n.Reset != nil {
			reset = n.Reset.Status
		}
		os := orDash(n.OSVersion)
		if n.OSRelease != "" {
			os += " (" + n.OSRelease + ")"
		}
		rows = append(rows, []string{n.Name, n.RegistrationStatus, n.ConnectionStatus, n.ArcStatus, orDash(n.ArcAgentVersion),
			os, orDash(n.BiosConfigHash), when(n.LastSync, now), reset})
	}
	table(s.Stdout, []string{"NAME", "REGISTRATION", "CONNECTION", "ARC", "AGENT", "OS", "BIOS", "LAST SYNC", "RESET"}, rows, s.st.status)
	return nil
}

func (s *session) deadlineTable(ds []api.Deadline, withCluster bool) {
	now := s.now()
	rows := [][]string{}
	for _, d := range ds {
		r := []string{d.Policy, when(&d.Deadline, now), d.Action}
		if withCluster {
			r = append([]string{d.ClusterID, orDash(d.ClusterName)}, r...)
		}
		rows = append(rows, r)
	}
	h := []string{"POLICY", "DEADLINE", "ACTION"}
	if withCluster {
		h = append([]string{"CLUSTER ID", "NAME"}, h...)
	}
	table(s.Stdout, h, rows, nil)
}

func (s *session) listCmd() *cobra.Command {
	var reg, conn, orphan string
	c := &cobra.Command{
		Use:     "list",
		Short:   "List every matching cluster (all pages)",
		Example: "  registrar list\n  registrar list --registration-status OutOfPolicy\n  registrar list --orphan Suspected -o json",
		Args:    nArgs(0, "no arguments"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"registrationStatus": reg, "connectionStatus": conn, "orphan": orphan} {
				if v != "" {
					q.Set(k, v)
				}
			}
			cs, printed, err := listAll[api.ClusterSummary](ctx, s, "/clusters", q)
			if printed || err != nil {
				return err
			}
			now := s.now()
			rows := [][]string{}
			for _, c := range cs {
				var reg *time.Time
				if !c.RegisteredAt.IsZero() {
					reg = &c.RegisteredAt
				}
				cred := ""
				if c.CredentialExpired {
					cred = "credentialExpired"
				}
				rows = append(rows, []string{c.ClusterID, orDash(c.ClusterName), orDash(c.Region), c.RegistrationStatus,
					c.ClusterStatus, c.ConnectionStatus, orDash(c.ArcIntegration), c.Orphan, when(reg, now), orDash(cred)})
			}
			table(s.Stdout, []string{"CLUSTER ID", "NAME", "REGION", "REGISTRATION", "CLUSTER", "CONNECTION", "ARC", "ORPHAN", "REGISTERED", "CREDENTIAL"}, rows, s.st.status)
			fmt.Fprintf(s.Stdout, "%d cluster(s)\n", len(cs))
			return nil
		}),
	}
	c.Flags().StringVar(&reg, "registration-status", "", "only clusters with this registrationStatus (NotYet, Registered, OutOfPolicy)")
	c.Flags().StringVar(&conn, "connection-status", "", "only clusters with this connectionStatus (NotYet, Connected, Disconnected, OutOfPolicy)")
	c.Flags().StringVar(&orphan, "orphan", "", "only clusters with this orphan state (None, Suspected, CleanedUp)")
	return c
}

func (s *session) historyCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "history <clusterId>",
		Short:   "Show every state change of a cluster, newest first (all pages)",
		Example: "  registrar history 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11",
		Args:    clusterArgs(false),
		RunE: s.run(func(ctx context.Context, args []string) error {
			hs, printed, err := listAll[api.HistoryEntry](ctx, s, clusterPath(args[0])+"/history", nil)
			if printed || err != nil {
				return err
			}
			slices.SortStableFunc(hs, func(a, b api.HistoryEntry) int { return b.At.Compare(a.At) })
			now := s.now()
			rows := [][]string{}
			for _, h := range hs {
				rows = append(rows, []string{when(&h.At, now), h.What, orDash(h.Before), orDash(h.After), h.Cause, orDash(h.MessageID), orDash(h.Principal)})
			}
			table(s.Stdout, []string{"AT", "WHAT", "BEFORE", "AFTER", "CAUSE", "MESSAGE ID", "BY"}, rows, s.st.status)
			return nil
		}),
	}
}

func (s *session) upcomingCmd() *cobra.Command {
	var within string
	c := &cobra.Command{
		Use:     "upcoming",
		Short:   "List policy deadlines due soon, soonest first",
		Example: "  registrar upcoming\n  registrar upcoming --within 30d",
		Args:    nArgs(0, "no arguments"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			ds, printed, err := listAll[api.Deadline](ctx, s, "/policy/upcoming", url.Values{"within": {within}})
			if printed || err != nil {
				return err
			}
			s.deadlineTable(ds, true)
			return nil
		}),
	}
	c.Flags().StringVar(&within, "within", "7d", "how far ahead: a Go duration (72h) or days (7d)")
	return c
}

func (s *session) rejectionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rejections",
		Short:   "List rejected inbound messages with their codes (all pages)",
		Example: "  registrar rejections\n  registrar rejections -o json | jq '.items[] | select(.code==\"RegionNotSupported\")'",
		Args:    nArgs(0, "no arguments"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			rs, printed, err := listAll[api.Rejection](ctx, s, "/rejections", nil)
			if printed || err != nil {
				return err
			}
			now := s.now()
			rows := [][]string{}
			for _, r := range rs {
				code := r.Code
				if r.Number != 0 {
					code += fmt.Sprintf(" (%d)", r.Number)
				}
				rows = append(rows, []string{when(&r.At, now), code, orDash(r.MessageType), orDash(r.ClusterID), r.MessageID, r.Reason})
			}
			table(s.Stdout, []string{"AT", "CODE", "TYPE", "CLUSTER ID", "MESSAGE ID", "REASON"}, rows, nil)
			return nil
		}),
	}
}

// deadLetter is a dead-lettered message as GET /deadletters/{queue} lists it.
func (s *session) deadlettersCmd() *cobra.Command {
	var ids []string
	var yes bool
	c := &cobra.Command{
		Use:   "deadletters <queue> [replay]",
		Short: "List a queue's dead letters, or replay them (all, or --message-id ones)",
		Example: "  registrar deadletters registration-requests\n" +
			"  registrar deadletters machine-events replay --message-id 3b0c… --yes",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 || (len(args) == 2 && args[1] == "replay") {
				return nil
			}
			return usagef("expected <queue> [replay]")
		},
		RunE: s.run(func(ctx context.Context, args []string) error {
			path := "/deadletters/" + url.PathEscape(args[0])
			if len(args) == 1 {
				if len(ids) > 0 || yes {
					return usagef("--message-id and --yes go with replay")
				}
				return s.listDeadLetters(ctx, path)
			}
			what := "every dead letter of " + args[0]
			if len(ids) > 0 {
				what = fmt.Sprintf("%d dead letter(s) of %s", len(ids), args[0])
			}
			if err := s.confirm("Replay "+what, yes); err != nil {
				return err
			}
			body := map[string][]string{}
			if len(ids) > 0 {
				body["messageIds"] = ids
			}
			b, err := s.client.do(ctx, call{method: "POST", path: path + "/replay", body: body, perm: api.PermDeadLettersReplay})
			if err != nil {
				return err
			}
			return show(s, b, s.showReplayed)
		}),
	}
	c.Flags().StringArrayVar(&ids, "message-id", nil, "replay only this MessageId (repeatable)")
	c.Flags().BoolVar(&yes, "yes", false, "replay without asking")
	return c
}

// replayed is a dead-letter replay's answer (docs/admin-api.md).
type replayed struct {
	Replayed []string `json:"replayed"`
	NotFound []string `json:"notFound"`
}

// showReplayed prints which dead letters were replayed and which were not found.
func (s *session) showReplayed(r replayed) error {
	fmt.Fprintf(s.Stdout, "replayed %d: %s\n", len(r.Replayed), strings.Join(r.Replayed, " "))
	if len(r.NotFound) > 0 {
		fmt.Fprintf(s.Stdout, "not found %d: %s\n", len(r.NotFound), strings.Join(r.NotFound, " "))
	}
	return nil
}

func (s *session) listDeadLetters(ctx context.Context, path string) error {
	ds, printed, err := listAll[api.DeadLetter](ctx, s, path, nil)
	if printed || err != nil {
		return err
	}
	now := s.now()
	rows := [][]string{}
	for _, d := range ds {
		rows = append(rows, []string{d.MessageID, when(&d.EnqueuedTime, now), fmt.Sprint(d.DeliveryCount), d.Reason, orDash(d.Description), d.Preview})
	}
	table(s.Stdout, []string{"MESSAGE ID", "ENQUEUED", "DELIVERIES", "REASON", "DESCRIPTION", "BODY"}, rows, nil)
	return nil
}
