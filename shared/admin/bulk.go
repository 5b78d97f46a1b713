package admin

// Bulk operations: POST /bulk/{unregister|repair|reset} (docs/admin-api.md, "Bulk operations").
// Each item is its own command through domain.Service.Apply, with its own idempotency marker,
// history entry and events; a refusal is that item's answer and never stops the others.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/logs"
)

// Paths of the bulk routes (relative to Prefix).
const (
	PathBulkUnregister = "/bulk/unregister"
	PathBulkRepair     = "/bulk/repair"
	PathBulkReset      = "/bulk/reset"
)

// Limits and names of bulk requests.
const (
	MaxBulkItems = 1000      // items per request, listed or matched by a filter
	MaxBulkBody  = 256 << 10 // bytes: 1000 items with the longest machine names fit
	// DefaultBulkBudget is how long a request starts new items: well inside host.json's
	// functionTimeout (5 minutes), so the answer is written before the host gives up on it.
	DefaultBulkBudget    = 4 * time.Minute
	HeaderIdempotencyKey = "Idempotency-Key"
	// CodeNotAttempted: the request's time budget ran out before the item was started.
	CodeNotAttempted = "NotAttempted"
	// bulkParallel bounds the items applied at once: each is a few Table round trips on its own
	// partition, so a small bound gives most of the speed without a burst against the account.
	bulkParallel = 8
	// maxFilterCount is how many matches a filter counts before saying "more than".
	maxFilterCount = 10 * MaxLimit
)

var idempotencyKeyRE = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// bulkOp is one bulk route: the permission every item needs and the command each item becomes.
type bulkOp struct {
	path, perm string
	machine    bool // items name a machine (reset)
}

var bulkOps = []bulkOp{
	{path: PathBulkUnregister, perm: api.PermClustersUnregister},
	{path: PathBulkRepair, perm: api.PermClustersRegister},
	{path: PathBulkReset, perm: api.PermMachinesReset, machine: true},
}

func (r *Router) routeBulk() {
	for _, op := range bulkOps {
		r.Handle(http.MethodPost, op.path, op.perm, r.bulk(op))
	}
}

// command is the domain command of one item.
func (op bulkOp) command(it bulkItem, disableOnlyArc bool) domain.Message {
	switch op.path {
	case PathBulkUnregister:
		return domain.Unregister{ClusterID: it.ClusterID, DisableOnlyArc: disableOnlyArc}
	case PathBulkRepair:
		return domain.RepairRegistration{ClusterID: it.ClusterID}
	}
	return domain.StartMachineReset{ClusterID: it.ClusterID, Machine: it.Machine}
}

// bulkItem is one item of a request body.
type bulkItem struct {
	ClusterID string `json:"clusterId"`
	Machine   string `json:"machine,omitempty"`
	problem   *Problem
}

// bulkFilter is a request's filter: GET /clusters' filters.
type bulkFilter struct {
	RegistrationStatus string `json:"registrationStatus,omitempty"`
	ConnectionStatus   string `json:"connectionStatus,omitempty"`
	Orphan             string `json:"orphan,omitempty"`
	CredentialExpired  *bool  `json:"credentialExpired,omitempty"`
}

type bulkBody struct {
	Items  []bulkItem  `json:"items,omitempty"`
	Filter *bulkFilter `json:"filter,omitempty"`
}

// bulkResult is one item's answer: its outcome, or the problem that refused it.
type bulkResult struct {
	ClusterID string         `json:"clusterId"`
	Machine   string         `json:"machine,omitempty"`
	Outcome   domain.Outcome `json:"outcome,omitempty"`
	Problem   *Problem       `json:"problem,omitempty"`
}

// bulkAnswer is a bulk request's answer: one result per item, in order, and the count of each
// outcome ("rejected" for a refused item, "failed" for one that may succeed when sent again).
type bulkAnswer struct {
	DryRun  bool           `json:"dryRun"`
	Items   []bulkResult   `json:"items"`
	Summary map[string]int `json:"summary"`
}

// bulkRequest is a parsed bulk request.
type bulkRequest struct {
	op             bulkOp
	dryRun         bool
	disableOnlyArc bool
	key            string // the Idempotency-Key header, "" when none
	body           bulkBody
	items          []bulkItem // the body's, or the filter's matches
}

func (r *Router) bulk(op bulkOp) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		br, pr := parseBulk(w, req, op)
		if pr == nil {
			pr = r.resolveBulk(req, &br)
		}
		var run bulkRun
		if pr == nil {
			run, pr = r.beginBulk(req, &br)
		}
		if pr != nil {
			if pr.Code == domain.CodeRequestInProgress {
				w.Header().Set("Retry-After", "10")
			}
			WriteProblem(w, pr)
			return
		}
		out := bulkAnswer{DryRun: br.dryRun, Items: r.runBulk(req, &br, run), Summary: map[string]int{}}
		for _, it := range out.Items {
			out.Summary[summaryKey(it)]++
		}
		r.endBulk(req, run)
		r.d.Logger.InfoContext(req.Context(), "admin bulk command", "route", req.Pattern, "principal", run.meta.Principal,
			"dryRun", br.dryRun, "items", len(out.Items), "summary", out.Summary, "idempotencyKey", br.key != "")
		WriteJSON(w, http.StatusOK, out)
	}
}

func summaryKey(it bulkResult) string {
	switch {
	case it.Problem == nil:
		return string(it.Outcome)
	case it.Problem.Status >= http.StatusInternalServerError:
		return "failed"
	}
	return string(domain.Rejected)
}

// parseBulk reads the query, the Idempotency-Key and the body, and checks the body's shape.
func parseBulk(w http.ResponseWriter, req *http.Request, op bulkOp) (bulkRequest, *Problem) {
	br := bulkRequest{op: op}
	allowed := []string{"dryRun"}
	if op.path == PathBulkUnregister {
		allowed = append(allowed, "disableOnlyArc")
	}
	q, pr := parseQuery(req, allowed...)
	if pr == nil {
		br.dryRun, pr = q.boolean("dryRun", true, false)
	}
	if pr == nil {
		br.disableOnlyArc, pr = q.boolean("disableOnlyArc", false, false)
	}
	if pr == nil {
		br.key, pr = idempotencyKey(req)
	}
	if pr == nil {
		pr = readBodyUpTo(w, req, MaxBulkBody, &br.body)
	}
	if pr == nil {
		pr = br.body.check(op)
	}
	return br, pr
}

// idempotencyKey reads the optional Idempotency-Key header: 1–255 printable ASCII characters.
func idempotencyKey(req *http.Request) (string, *Problem) {
	vals := req.Header.Values(HeaderIdempotencyKey)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1 || !idempotencyKeyRE.MatchString(vals[0]):
		return "", invalid(HeaderIdempotencyKey, "One header of 1–255 printable ASCII characters, e.g. a UUID.")
	}
	return vals[0], nil
}

// check refuses a body that is not exactly one of items (1–1000) or a filter naming at least
// one status; reset takes items only, since it acts on machines.
func (b *bulkBody) check(op bulkOp) *Problem {
	switch {
	case b.Items != nil && b.Filter != nil:
		return invalid("body", "Give items or filter, not both.")
	case b.Filter != nil && op.machine:
		return invalid("filter", "A reset acts on machines: list them as items, each with clusterId and machine.")
	case b.Filter != nil:
		return b.Filter.check()
	case len(b.Items) == 0:
		return invalid("items", "Give items (1 to 1000, each with clusterId) or a filter.")
	case len(b.Items) > MaxBulkItems:
		return invalid("items", fmt.Sprintf("%d items given; at most %d per request: send them in parts.", len(b.Items), MaxBulkItems))
	}
	seen := map[string]int{}
	for i := range b.Items {
		it := &b.Items[i]
		it.problem = checkItem(i, it, op)
		if it.problem != nil {
			continue
		}
		it.ClusterID = strings.ToLower(it.ClusterID)
		k := it.ClusterID + "/" + strings.ToLower(it.Machine)
		if j, dup := seen[k]; dup {
			it.problem = invalid(fmt.Sprintf("items[%d]", i), fmt.Sprintf("The same item as items[%d].", j))
			continue
		}
		seen[k] = i
	}
	return nil
}

// checkItem is the problem of one malformed item, or nil.
func checkItem(i int, it *bulkItem, op bulkOp) *Problem {
	field := fmt.Sprintf("items[%d].", i)
	switch {
	case !domain.IsGUID(it.ClusterID):
		return invalid(field+"clusterId", "Must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
	case op.machine && !domain.IsMachineName(it.Machine):
		return invalid(field+"machine", "A reset names the machine: 1–63 characters of letters, digits and '-'.")
	case !op.machine && it.Machine != "":
		return invalid(field+"machine", "Only a reset names a machine.")
	}
	return nil
}

func (f *bulkFilter) check() *Problem {
	if *f == (bulkFilter{}) {
		return invalid("filter", "Name at least one of registrationStatus, connectionStatus, orphan, credentialExpired.")
	}
	for _, c := range []struct {
		field, v string
		choices  []string
	}{
		{"filter.registrationStatus", f.RegistrationStatus, domain.RegistrationStatuses()},
		{"filter.connectionStatus", f.ConnectionStatus, domain.ConnectionStatuses()},
		{"filter.orphan", f.Orphan, domain.OrphanStatuses()},
	} {
		if c.v != "" && !slices.Contains(c.choices, c.v) {
			return invalid(c.field, "Must be one of "+strings.Join(c.choices, ", ")+".")
		}
	}
	return nil
}

// resolveBulk sets the request's items: the body's, or the clusters its filter matches (at most
// MaxBulkItems; more is a 400 naming the count).
func (r *Router) resolveBulk(req *http.Request, br *bulkRequest) *Problem {
	if br.body.Filter == nil {
		br.items = br.body.Items
		return nil
	}
	f := br.body.Filter
	// Only the clusters the caller may read match (docs/admin-api.md, "Scopes"), not even counted
	// otherwise; those it may read but not act on are refused one by one by Apply (Meta.Scope).
	cf := domain.ClusterFilter{RegistrationStatus: f.RegistrationStatus, ConnectionStatus: f.ConnectionStatus,
		Orphan: f.Orphan, CredentialExpired: f.CredentialExpired, Scope: narrowing(r.Scope(req, api.PermClustersRead))}
	p := domain.Page{Limit: MaxLimit}
	for {
		res, err := r.d.Service.ListClusters(req.Context(), cf, p)
		if err != nil {
			return r.problemOf(req, err, nil)
		}
		var page []bulkItem
		for _, c := range res.Items {
			page = append(page, bulkItem{ClusterID: c.ClusterID})
		}
		br.items = append(br.items, page...)
		if res.NextCursor == "" || len(br.items) >= maxFilterCount {
			more := ""
			if res.NextCursor != "" {
				more = "more than "
			}
			if len(br.items) > MaxBulkItems {
				return invalid("filter", fmt.Sprintf("The filter matches %s%d clusters; at most %d per request: narrow it, or send the clusters as items in parts.",
					more, len(br.items), MaxBulkItems))
			}
			return nil
		}
		p.Cursor = res.NextCursor
	}
}

// bulkRun is what every item of one request shares: the command metadata, the key the items'
// MessageIds derive from, and the digest the Idempotency-Key was claimed with ("" if none).
type bulkRun struct {
	meta   domain.Meta
	scope  string // the caller's Idempotency-Key, or the request's own ID
	digest string
}

// itemID is the item's command MessageId: the same for the same item of the same request, so a
// retry's commands are duplicates of the first's.
func (run bulkRun) itemID(op bulkOp, it bulkItem) string {
	sum := sha256.Sum256([]byte(run.scope + "\x00" + op.path + "\x00" + it.ClusterID + "\x00" + strings.ToLower(it.Machine)))
	return "bulk-" + hex.EncodeToString(sum[:16])
}

// beginBulk claims the Idempotency-Key for the request (not for a dry run, which changes
// nothing): scoped to the caller, with the digest of what the body asks.
func (r *Router) beginBulk(req *http.Request, br *bulkRequest) (bulkRun, *Problem) {
	run := bulkRun{meta: r.meta(req)}
	run.scope = run.meta.MessageID
	if br.dryRun || br.key == "" {
		return run, nil
	}
	sum := sha256.Sum256([]byte(run.meta.Principal + "\x00" + br.key))
	run.scope = hex.EncodeToString(sum[:16])
	body, _ := json.Marshal(br.body)
	sum = sha256.Sum256(fmt.Appendf(nil, "%s\x00%t\x00%s", br.op.path, br.disableOnlyArc, body))
	run.digest = hex.EncodeToString(sum[:16])
	if err := r.d.Service.BeginBulk(req.Context(), run.scope, run.digest, r.bulkBudget()+time.Minute); err != nil {
		return run, r.problemOf(req, err, nil)
	}
	return run, nil
}

// endBulk records that the request claimed with run has ended; a failure only delays a retry
// with the same key until the claim is stale.
func (r *Router) endBulk(req *http.Request, run bulkRun) {
	if run.digest == "" {
		return
	}
	if err := r.d.Service.EndBulk(context.WithoutCancel(req.Context()), run.scope, run.digest); err != nil {
		r.d.Logger.WarnContext(req.Context(), "admin bulk: could not record the end of the request", logs.Err(err))
	}
}

func (r *Router) bulkBudget() time.Duration {
	if r.d.BulkBudget > 0 {
		return r.d.BulkBudget
	}
	return DefaultBulkBudget
}

// runBulk applies every item, at most bulkParallel at once, and answers them in order. Items not
// started within the budget are NotAttempted; an item started runs to its end.
func (r *Router) runBulk(req *http.Request, br *bulkRequest, run bulkRun) []bulkResult {
	results := make([]bulkResult, len(br.items))
	deadline := time.Now().Add(r.bulkBudget())
	svc := r.d.Service
	if br.dryRun {
		svc = svc.DryRun()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(bulkParallel, len(br.items)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(br.items); i = int(next.Add(1)) - 1 {
				if time.Now().After(deadline) || req.Context().Err() != nil {
					results[i] = notAttempted(br.items[i])
					continue
				}
				results[i] = r.bulkItem(req, br, run, svc, br.items[i])
			}
		})
	}
	wg.Wait()
	return results
}

func notAttempted(it bulkItem) bulkResult {
	return bulkResult{ClusterID: it.ClusterID, Machine: it.Machine, Problem: &Problem{Type: "about:blank",
		Status: http.StatusServiceUnavailable, Code: CodeNotAttempted, Title: "Not attempted",
		Detail: "The request's time budget ran out before this item; send the same request again with the same Idempotency-Key."}}
}

// bulkItem applies one item as its own command and answers its outcome or problem.
func (r *Router) bulkItem(req *http.Request, br *bulkRequest, run bulkRun, svc *domain.Service, it bulkItem) bulkResult {
	res := bulkResult{ClusterID: it.ClusterID, Machine: it.Machine, Problem: it.problem}
	if res.Problem != nil {
		res.Problem.Type = "about:blank"
		return res
	}
	meta := run.meta
	meta.MessageID = run.itemID(br.op, it)
	out, err := svc.Apply(req.Context(), br.op.command(it, br.disableOnlyArc), meta)
	switch {
	case errors.Is(err, domain.ErrOutOfScope): // meta.Scope: the route's permission, where the caller holds it
		res.Problem = outOfScope(req.Context(), it.ClusterID)
	case err != nil:
		res.Problem = r.problemOf(req, err, unknownCluster(it.ClusterID))
	case out.Outcome == domain.Rejected:
		res.Problem = fromDomain(out.Problem)
	default:
		res.Outcome = out.Outcome
		if !br.dryRun {
			r.publish(req.Context(), out.Publish)
		}
	}
	if res.Problem != nil {
		res.Problem.Type = "about:blank"
	}
	return res
}
