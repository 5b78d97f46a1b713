package cli

// registrar bulk unregister|repair|reset (docs/cli.md, "Bulk"): items from a file, or a filter the
// service resolves, sent to POST /bulk/{operation} in chunks, each with an Idempotency-Key so a
// chunk sent again after a failure changes nothing twice.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

const (
	// bulkChunk is how many items one request carries: a few seconds of work each, so the
	// progress moves and a failed request costs little to send again.
	bulkChunk = 100
	// bulkTries is how often a chunk is sent when it fails for a reason that may pass.
	bulkTries = 3
)

// bulkOp is one bulk subcommand.
type bulkOp struct {
	name, perm, verb string
	machine          bool // items name a machine (reset)
}

var bulkOps = []bulkOp{
	{name: "unregister", perm: api.PermClustersUnregister, verb: "Unregister"},
	{name: "repair", perm: api.PermClustersRegister, verb: "Repair"},
	{name: "reset", perm: api.PermMachinesReset, verb: "Reset", machine: true},
}

// bulkFlags are a bulk subcommand's flags.
type bulkFlags struct {
	fromFile                    string
	reg, conn, orphan, expired  string
	dryRun, yes, disableOnlyArc bool
}

// bulkResult and bulkAnswer are the API's answer (docs/admin-api.md, "Bulk operations").
type bulkResult struct {
	ClusterID string   `json:"clusterId"`
	Machine   string   `json:"machine,omitempty"`
	Outcome   string   `json:"outcome,omitempty"`
	Problem   *Problem `json:"problem,omitempty"`
}

type bulkAnswer struct {
	DryRun  bool           `json:"dryRun"`
	Items   []bulkResult   `json:"items"`
	Summary map[string]int `json:"summary"`
}

func (s *session) bulkCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bulk",
		Short: "Unregister, repair or reset many clusters at once, from a CSV or JSON file or a filter",
		Example: "  registrar bulk repair --registration-status OutOfPolicy --dry-run\n" +
			"  registrar bulk unregister --from-file clusters.csv --yes\n  registrar bulk reset --from-file machines.json",
		Args: nArgs(0, "a subcommand: unregister, repair or reset"),
	}
	for _, op := range bulkOps {
		c.AddCommand(s.bulkOpCmd(op))
	}
	return c
}

func (s *session) bulkOpCmd(op bulkOp) *cobra.Command {
	f := &bulkFlags{}
	what, file := "clusters", "clusters.csv"
	if op.machine {
		what, file = "machines", "machines.csv"
	}
	c := &cobra.Command{
		Use:   op.name + " (--from-file F.csv|F.json | --registration-status S ...) [--dry-run] [--yes]",
		Short: op.verb + " many " + what + ": each its own command; one refusal never stops the others",
		Long: "Reads the items from --from-file (CSV with a header row naming clusterId" + map[bool]string{true: " and machine", false: ""}[op.machine] +
			", or JSON {\"items\":[...]})" + map[bool]string{true: ".", false: ",\nor takes the clusters matching the filters (as registrar list does; at most 1000)."}[op.machine] +
			"\nShows what each item would do, asks (or --yes), then acts: in requests of 100 items, each with an\n" +
			"Idempotency-Key, so a request sent again after a failure changes nothing twice. Prints one row per item;\n" +
			"exit 1 when any item was refused or failed.",
		Example: "  registrar bulk " + op.name + " --from-file " + file + " --dry-run\n  registrar bulk " + op.name + " --from-file " + file + " --yes" +
			map[bool]string{true: "", false: "\n  registrar bulk " + op.name + " --registration-status OutOfPolicy"}[op.machine],
		Args: nArgs(0, "flags only"),
		RunE: s.run(func(ctx context.Context, _ []string) error { return s.bulk(ctx, op, f) }),
	}
	fl := c.Flags()
	fl.StringVar(&f.fromFile, "from-file", "", "the items: a .csv with a header row, or a .json {\"items\":[...]} ('-': standard input)")
	if !op.machine {
		fl.StringVar(&f.reg, "registration-status", "", "the clusters with this registrationStatus (NotYet, Registered, OutOfPolicy)")
		fl.StringVar(&f.conn, "connection-status", "", "the clusters with this connectionStatus (NotYet, Connected, Disconnected, OutOfPolicy)")
		fl.StringVar(&f.orphan, "orphan", "", "the clusters with this orphan state (None, Suspected, CleanedUp)")
		fl.StringVar(&f.expired, "credential-expired", "", "the clusters whose credential has expired (true) or not (false)")
	}
	if op.name == "unregister" {
		fl.BoolVar(&f.disableOnlyArc, "disable-only-arc", false, "disable Arc integration only (steps 1-2) and keep the registrations")
	}
	fl.BoolVar(&f.dryRun, "dry-run", false, "show what each item would do, and change nothing")
	fl.BoolVar(&f.yes, "yes", false, "act without asking")
	return c
}

// bulk runs one bulk subcommand: resolve the items (a filter through a dry run), confirm, act.
func (s *session) bulk(ctx context.Context, op bulkOp, f *bulkFlags) error {
	items, filter, err := s.bulkSource(op, f)
	if err != nil {
		return err
	}
	if !f.dryRun && !f.yes && !s.StdinTerminal {
		return s.confirm(op.verb+" many items", false) // refused at once: nothing to confirm on
	}
	if filter != nil || f.dryRun || !f.yes {
		preview, err := s.bulkSend(ctx, op, f, items, filter, true)
		if err != nil || f.dryRun {
			return s.bulkShow(preview, err)
		}
		items = make([]bulkItem, 0, len(preview.Items))
		for _, it := range preview.Items {
			items = append(items, bulkItem{ClusterID: it.ClusterID, Machine: it.Machine})
		}
		if len(items) == 0 {
			fmt.Fprintln(s.Stdout, "no cluster matches: nothing to do")
			return nil
		}
		if err := s.confirm(fmt.Sprintf("%s %d item(s) (dry run: %s)", op.verb, len(items), summaryLine(preview.Summary)), f.yes); err != nil {
			return err
		}
	}
	done, err := s.bulkSend(ctx, op, f, items, nil, false)
	return s.bulkShow(done, err)
}

// bulkSource reads the items of --from-file, or builds the filter of the filter flags: exactly one.
func (s *session) bulkSource(op bulkOp, f *bulkFlags) ([]bulkItem, map[string]any, error) {
	filter, err := f.filter()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case f.fromFile != "" && len(filter) > 0:
		return nil, nil, usagef("give --from-file or filters, not both")
	case f.fromFile == "" && len(filter) == 0 && op.machine:
		return nil, nil, usagef("give --from-file with the machines to reset")
	case f.fromFile == "" && len(filter) == 0:
		return nil, nil, usagef("give --from-file, or at least one of --registration-status, --connection-status, --orphan, --credential-expired")
	case len(filter) > 0:
		return nil, filter, nil
	}
	b, err := s.readInput(f.fromFile)
	if err != nil {
		return nil, nil, err
	}
	items, err := parseBulkItems(f.fromFile, b, op.machine)
	if err == nil && len(items) == 0 {
		err = usagef("%s names no item", f.fromFile)
	}
	return items, nil, err
}

// filter is the bulk filter the filter flags give (empty when none is set).
func (f *bulkFlags) filter() (map[string]any, error) {
	filter := map[string]any{}
	for k, v := range map[string]string{"registrationStatus": f.reg, "connectionStatus": f.conn, "orphan": f.orphan} {
		if v != "" {
			filter[k] = v
		}
	}
	if f.expired != "" {
		b, err := strconv.ParseBool(f.expired)
		if err != nil {
			return nil, usagef("--credential-expired must be true or false, not %q", f.expired)
		}
		filter["credentialExpired"] = b
	}
	return filter, nil
}

// bulkSend sends the items in chunks (or the filter in one request) and merges the answers, in
// order. A chunk that fails as a whole for a reason that may pass (503, 409 RequestInProgress,
// the service unreachable), or answers items that may succeed when sent again, is sent again with
// its key, up to bulkTries times; an answer is kept per item once it is not such a failure.
func (s *session) bulkSend(ctx context.Context, op bulkOp, f *bulkFlags, items []bulkItem, filter map[string]any, dry bool) (bulkAnswer, error) {
	q := url.Values{"dryRun": {strconv.FormatBool(dry)}}
	if op.name == "unregister" {
		q.Set("disableOnlyArc", strconv.FormatBool(f.disableOnlyArc))
	}
	u := s.client.Endpoint() + "/api/v1/bulk/" + op.name + "?" + q.Encode()
	out := bulkAnswer{DryRun: dry, Items: []bulkResult{}, Summary: map[string]int{}}
	if filter != nil {
		a, err := s.bulkPost(ctx, u, op, map[string]any{"filter": filter}, "")
		return a, err
	}
	label := map[bool]string{true: "dry run", false: op.name}[dry]
	bar := s.progress(label, len(items))
	defer bar.end()
	key := uuid.NewString()
	for start := 0; start < len(items); start += bulkChunk {
		chunk := items[start:min(start+bulkChunk, len(items))]
		res, err := s.bulkChunkSend(ctx, u, op, chunk, fmt.Sprintf("%s.%d", key, start/bulkChunk))
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, res...)
		bar.set(len(out.Items))
	}
	for _, it := range out.Items {
		out.Summary[resultKey(it)]++
	}
	return out, nil
}

// bulkChunkSend sends one chunk with its key until no item answers a failure that may pass.
func (s *session) bulkChunkSend(ctx context.Context, u string, op bulkOp, chunk []bulkItem, key string) ([]bulkResult, error) {
	var res []bulkResult
	for try := 1; ; try++ {
		a, err := s.bulkPost(ctx, u, op, map[string]any{"items": chunk}, key)
		switch {
		case err != nil && (!mayPass(err) || try == bulkTries):
			return nil, err
		case err == nil && len(a.Items) != len(chunk):
			return nil, fmt.Errorf("BadAnswer: %d results for %d items", len(a.Items), len(chunk))
		case err == nil:
			res = mergeRetried(res, a.Items)
		}
		if res != nil && (try == bulkTries || !slices.ContainsFunc(res, failed)) {
			return res, nil
		}
		if err := sleep(ctx, s.poll()*time.Duration(try)); err != nil {
			return nil, err
		}
	}
}

// mergeRetried keeps each item's first answer that is not "failed": a retry's answer replaces
// only the failed ones (res nil: the first answer).
func mergeRetried(res, again []bulkResult) []bulkResult {
	if res == nil {
		return again
	}
	for i, it := range again {
		if failed(res[i]) {
			res[i] = it
		}
	}
	return res
}

// failed says whether an item's answer is a failure that may pass when sent again.
func failed(r bulkResult) bool { return resultKey(r) == "failed" }

// mayPass says whether a failed request may succeed when sent again unchanged.
func mayPass(err error) bool {
	var apiErr *APIError
	var unr *UnreachableError
	switch {
	case errors.As(err, &unr):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Status == http.StatusServiceUnavailable || apiErr.Problem.Code == "RequestInProgress"
	}
	return false
}

// bulkPost sends one bulk request and decodes its answer.
func (s *session) bulkPost(ctx context.Context, u string, op bulkOp, body any, key string) (bulkAnswer, error) {
	var h http.Header
	if key != "" {
		h = http.Header{"Idempotency-Key": {key}}
	}
	b, err := s.client.send(ctx, http.MethodPost, u, body, h, op.perm)
	if err != nil {
		return bulkAnswer{}, err
	}
	var a bulkAnswer
	return a, decode(b, &a)
}

// resultKey is the summary key of one result: its outcome, "rejected" for a refusal, "failed"
// for a failure that may pass when sent again (as the API counts them).
func resultKey(r bulkResult) string {
	switch {
	case r.Problem == nil:
		return r.Outcome
	case r.Problem.Status >= 500:
		return "failed"
	}
	return "rejected"
}

// summaryLine is "3 updated, 1 rejected" (keys in order).
func summaryLine(sum map[string]int) string {
	if len(sum) == 0 {
		return "no item"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sum)) {
		parts = append(parts, fmt.Sprintf("%d %s", sum[k], k))
	}
	return strings.Join(parts, ", ")
}

// bulkShow prints the per-item table (or, -o json, the merged answer) and ends with exit 1 when
// any item was refused or failed; err, a failure of the requests themselves, comes first.
func (s *session) bulkShow(a bulkAnswer, err error) error {
	if err != nil {
		return err
	}
	if s.json() {
		b, _ := json.Marshal(a)
		s.printRaw(b)
	} else {
		s.bulkTable(a)
	}
	refused := len(a.Items) - a.Summary["created"] - a.Summary["updated"] - a.Summary["unchanged"] - a.Summary["duplicate"]
	if refused > 0 {
		return &RejectedError{Code: "ItemsRefused", Reason: fmt.Sprintf("%d of %d item(s) were refused or failed (see each item's code)", refused, len(a.Items))}
	}
	return nil
}

func (s *session) bulkTable(a bulkAnswer) {
	machines := slices.ContainsFunc(a.Items, func(r bulkResult) bool { return r.Machine != "" })
	header := []string{"CLUSTER ID", "RESULT", "DETAIL"}
	if machines {
		header = []string{"CLUSTER ID", "MACHINE", "RESULT", "DETAIL"}
	}
	rows := [][]string{}
	for _, r := range a.Items {
		result, detail := r.Outcome, "-"
		if p := r.Problem; p != nil {
			result = p.Code
			if p.Number != 0 {
				result += fmt.Sprintf(" (%d)", p.Number)
			}
			detail = orDash(p.Detail)
			if p.Field != "" {
				detail += " (field " + p.Field + ")"
			}
		}
		row := []string{r.ClusterID, result, detail}
		if machines {
			row = []string{r.ClusterID, orDash(r.Machine), result, detail}
		}
		rows = append(rows, row)
	}
	table(s.Stdout, header, rows, s.st.status)
	dry := ""
	if a.DryRun {
		dry = " (dry run: nothing was changed)"
	}
	fmt.Fprintf(s.Stdout, "%d item(s): %s%s\n", len(a.Items), summaryLine(a.Summary), dry)
}
