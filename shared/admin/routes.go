package admin

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
)

// Paths of the routes (relative to Prefix).
const (
	PathClusters       = "/clusters"
	PathCluster        = "/clusters/{clusterId}"
	PathHistory        = "/clusters/{clusterId}/history"
	PathUnregister     = "/clusters/{clusterId}/unregister"
	PathRepair         = "/clusters/{clusterId}/repair"
	PathReset          = "/machines/{clusterId}/{machine}/reset"
	PathStandalone     = "/machines/standalone"
	PathUpcoming       = "/policy/upcoming"
	PathOrphans        = "/orphans"
	PathOrphansCleanup = "/orphans/cleanup"
	PathRejections     = "/rejections"
	PathDeadLetters    = "/deadletters/{queue}"
	PathReplay         = "/deadletters/{queue}/replay"
)

// defaultWithin is /policy/upcoming's window when none is given.
const defaultWithin = 7 * 24 * time.Hour

func (r *Router) routeAll() {
	get, post := http.MethodGet, http.MethodPost
	r.Handle(get, PathClusters, api.PermClustersRead, http.HandlerFunc(r.listClusters))
	r.Handle(get, PathCluster, api.PermClustersRead, http.HandlerFunc(r.cluster))
	r.Handle(get, PathHistory, api.PermClustersRead, http.HandlerFunc(r.history))
	r.Handle(post, PathUnregister, api.PermClustersUnregister, http.HandlerFunc(r.unregister))
	r.Handle(post, PathRepair, api.PermClustersRegister, http.HandlerFunc(r.repair))
	r.Handle(post, PathReset, api.PermMachinesReset, http.HandlerFunc(r.startReset))
	r.Handle(http.MethodDelete, PathReset, api.PermMachinesReset, http.HandlerFunc(r.cancelReset))
	r.Handle(get, PathReset, api.PermClustersRead, http.HandlerFunc(r.resetStatus))
	r.Handle(get, PathStandalone, api.PermClustersRead, http.HandlerFunc(r.standalone))
	r.Handle(get, PathUpcoming, api.PermClustersRead, http.HandlerFunc(r.upcoming))
	r.Handle(get, PathOrphans, api.PermClustersRead, http.HandlerFunc(r.orphans))
	r.Handle(post, PathOrphansCleanup, api.PermOrphansCleanup, http.HandlerFunc(r.cleanupOrphans))
	r.Handle(get, PathRejections, api.PermClustersRead, http.HandlerFunc(r.rejections))
	r.Handle(get, PathDeadLetters, api.PermClustersRead, http.HandlerFunc(r.deadLetters))
	r.Handle(post, PathReplay, api.PermDeadLettersReplay, http.HandlerFunc(r.replay))
	r.routeBulk()
	r.Handle(get, PathMe, "", http.HandlerFunc(r.me))
	r.HandlePublic(get, PathHealthz, http.HandlerFunc(r.healthz))
}

// list is a list answer without paging.
type list[T any] struct {
	Items []T `json:"items"`
}

func items[T any](v []T) list[T] {
	if v == nil {
		v = []T{}
	}
	return list[T]{Items: v}
}

func page[T any](p domain.PageOf[T]) domain.PageOf[T] {
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}

// outcome is a mutating call's answer: the outcome (docs/messages.md#outcomes), and for a dry run the plan.
type outcome struct {
	Outcome   domain.Outcome `json:"outcome"`
	ClusterID string         `json:"clusterId,omitempty"`
	DryRun    bool           `json:"dryRun"`
	Plan      *domain.Plan   `json:"plan,omitempty"`
	Detail    any            `json:"detail,omitempty"`
}

func unknownCluster(id string) *Problem {
	return &Problem{Status: http.StatusNotFound, Code: domain.CodeUnknownCluster, Title: "Not found",
		Detail: "No cluster " + id + " is known."}
}

func (r *Router) listClusters(w http.ResponseWriter, req *http.Request) {
	q, pr := parseQuery(req, "registrationStatus", "connectionStatus", "orphan", "credentialExpired", "limit", "cursor")
	var f domain.ClusterFilter
	if pr == nil {
		f.RegistrationStatus, pr = q.oneOf("registrationStatus", domain.RegistrationStatuses()...)
	}
	if pr == nil {
		f.ConnectionStatus, pr = q.oneOf("connectionStatus", domain.ConnectionStatuses()...)
	}
	if pr == nil {
		f.Orphan, pr = q.oneOf("orphan", domain.OrphanStatuses()...)
	}
	expired := ""
	if pr == nil {
		expired, pr = q.oneOf("credentialExpired", "true", "false")
	}
	if expired != "" {
		v := expired == "true"
		f.CredentialExpired = &v
	}
	var p domain.Page
	if pr == nil {
		p, pr = q.page()
	}
	f.Scope = scoped(req.Context())
	list := storeList("clusters?" + f.RegistrationStatus + "&" + f.ConnectionStatus + "&" + f.Orphan + "&" + expired + scopeTag(req.Context()))
	if pr == nil {
		p, pr = r.after(req, list, p)
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	res, err := r.d.Service.ListClusters(req.Context(), f, p)
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	writePage(r, w, req, list, res)
}

func (r *Router) cluster(w http.ResponseWriter, req *http.Request) {
	id, pr := clusterID(req)
	if pr == nil {
		_, pr = parseQuery(req)
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	v, err := r.d.Service.Cluster(req.Context(), id)
	if err == nil && !ScopeFrom(req.Context()).Allows(v.SubscriptionID) {
		err = domain.ErrNotFound // outside the caller's subscriptions: not shown
	}
	if err != nil {
		r.failure(w, req, err, unknownCluster(id))
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

func (r *Router) history(w http.ResponseWriter, req *http.Request) {
	id, pr := clusterID(req)
	var q query
	if pr == nil {
		q, pr = parseQuery(req, "limit", "cursor")
	}
	var p domain.Page
	if pr == nil {
		p, pr = q.page()
	}
	list := storeList("history/" + id)
	if pr == nil {
		p, pr = r.after(req, list, p)
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	if !r.readable(w, req, id, unknownCluster(id)) {
		return
	}
	res, err := r.d.Service.History(req.Context(), id, p)
	if err == nil && len(res.Items) == 0 && p.Cursor == "" {
		_, err = r.d.Service.Cluster(req.Context(), id) // an empty first page: is the cluster known?
	}
	if err != nil {
		r.failure(w, req, err, unknownCluster(id))
		return
	}
	writePage(r, w, req, list, res)
}

// meta describes an admin call to the domain: a request-unique MessageID (Deps.RequestID, else
// random), the caller, and the route pattern as the history's cause.
func (r *Router) meta(req *http.Request) domain.Meta {
	var id string
	if r.d.RequestID != nil {
		id = r.d.RequestID(req.Context())
	}
	if !domain.IsGUID(id) {
		id = uuid.NewString()
	}
	p, _ := PrincipalFrom(req.Context())
	return domain.Meta{Source: domain.SourceAdmin, MessageID: "admin-" + strings.ToLower(id), CorrelationID: traceID(req, id),
		EnqueuedAt: r.d.Clock.Now().UTC(), Principal: p.Name, Cause: strings.Replace(req.Pattern, " "+Prefix, " ", 1),
		Scope: scoped(req.Context())}
}

var traceparentRE = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$`)

// traceID is the W3C trace ID of the request's traceparent, else fallback.
func traceID(req *http.Request, fallback string) string {
	if m := traceparentRE.FindStringSubmatch(req.Header.Get("traceparent")); m != nil {
		return m[1]
	}
	return fallback
}

// apply runs an admin command through the domain and answers its outcome.
func (r *Router) apply(w http.ResponseWriter, req *http.Request, msg domain.Message) {
	meta := r.meta(req)
	res, err := r.d.Service.Apply(req.Context(), msg, meta)
	if err != nil {
		r.failure(w, req, err, unknownCluster(msg.ClusterKey()))
		return
	}
	r.publish(req.Context(), res.Publish)
	r.d.Logger.InfoContext(req.Context(), "admin command", "route", req.Pattern, "principal", meta.Principal,
		"clusterId", res.ClusterID, "outcome", res.Outcome, "messageId", meta.MessageID)
	if res.Outcome == domain.Rejected && res.Problem != nil {
		WriteProblem(w, fromDomain(res.Problem))
		return
	}
	WriteJSON(w, http.StatusOK, outcome{Outcome: res.Outcome, ClusterID: res.ClusterID, Plan: res.Plan, Detail: res.Detail})
}

func (r *Router) unregister(w http.ResponseWriter, req *http.Request) {
	id, pr := clusterID(req)
	var q query
	if pr == nil {
		q, pr = parseQuery(req, "dryRun", "disableOnlyArc")
	}
	var dry, onlyArc bool
	if pr == nil {
		dry, pr = q.boolean("dryRun", true, false)
	}
	if pr == nil {
		onlyArc, pr = q.boolean("disableOnlyArc", false, false)
	}
	if pr == nil {
		pr = readBody(w, req, &struct{}{})
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	if !dry {
		r.apply(w, req, domain.Unregister{ClusterID: id, DisableOnlyArc: onlyArc})
		return
	}
	err := r.d.Service.InScope(req.Context(), ScopeFrom(req.Context()), id)
	var plan domain.Plan
	if err == nil {
		plan, err = r.d.Service.PlanUnregister(req.Context(), id, onlyArc)
	}
	if err != nil {
		r.failure(w, req, err, unknownCluster(id))
		return
	}
	WriteJSON(w, http.StatusOK, outcome{Outcome: domain.Unchanged, ClusterID: id, DryRun: true, Plan: &plan})
}

// repairBody is POST /clusters/{clusterId}/repair's optional body.
type repairBody struct {
	ArcSPN *domain.ArcSPN `json:"arcSpn"`
}

func (r *Router) repair(w http.ResponseWriter, req *http.Request) {
	id, pr := clusterID(req)
	if pr == nil {
		_, pr = parseQuery(req)
	}
	var body repairBody
	if pr == nil {
		pr = readBody(w, req, &body)
	}
	if pr == nil && body.ArcSPN != nil {
		switch {
		case !domain.IsGUID(body.ArcSPN.AppID):
			pr = invalid("arcSpn.appId", "Must be a GUID.")
		case body.ArcSPN.CredentialExpiresAt.IsZero():
			pr = invalid("arcSpn.credentialExpiresAt", "Required: an RFC 3339 time.")
		case !domain.ValidTime(body.ArcSPN.CredentialExpiresAt):
			pr = invalid("arcSpn.credentialExpiresAt", "Must lie between 2000-01-01 and 2200-01-01.")
		default:
			body.ArcSPN.AppID = strings.ToLower(body.ArcSPN.AppID)
		}
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	r.apply(w, req, domain.RepairRegistration{ClusterID: id, ArcSPN: body.ArcSPN})
}

// machinePath validates {clusterId}, {machine} and the query (only the allowed names).
func (r *Router) machinePath(req *http.Request, allowed ...string) (id, m string, q query, pr *Problem) {
	id, pr = clusterID(req)
	if pr == nil {
		m, pr = machine(req)
	}
	if pr == nil {
		q, pr = parseQuery(req, allowed...)
	}
	return id, m, q, pr
}

// startReset starts a reset (Start-ArcBootstrapReset); restart=true replaces a Stalled or Failed
// operation (docs/admin-api.md).
func (r *Router) startReset(w http.ResponseWriter, req *http.Request) {
	id, m, q, pr := r.machinePath(req, "restart")
	var restart bool
	if pr == nil {
		restart, pr = q.boolean("restart", false, false)
	}
	if pr == nil {
		pr = readBody(w, req, &struct{}{})
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	r.apply(w, req, domain.StartMachineReset{ClusterID: id, Machine: m, Restart: restart})
}

// cancelReset cancels a Stalled reset; the machine stays registered.
func (r *Router) cancelReset(w http.ResponseWriter, req *http.Request) {
	id, m, _, pr := r.machinePath(req)
	if pr == nil {
		pr = readBody(w, req, &struct{}{})
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	r.apply(w, req, domain.CancelMachineReset{ClusterID: id, Machine: m})
}

func (r *Router) resetStatus(w http.ResponseWriter, req *http.Request) {
	id, m, _, pr := r.machinePath(req)
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	if !r.readable(w, req, id, unknownCluster(id)) {
		return
	}
	v, err := r.d.Service.ResetStatus(req.Context(), id, m)
	if errors.Is(err, domain.ErrNotFound) {
		r.failure(w, req, err, r.whyNoReset(req, id, m))
		return
	}
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// whyNoReset names what is missing when a machine has no reset: the cluster, the machine, or
// only the operation.
func (r *Router) whyNoReset(req *http.Request, id, m string) *Problem {
	v, err := r.d.Service.Cluster(req.Context(), id)
	if err != nil {
		return unknownCluster(id)
	}
	if !slices.ContainsFunc(v.Nodes, func(n domain.NodeView) bool { return strings.EqualFold(n.Name, m) }) {
		return &Problem{Status: http.StatusNotFound, Code: domain.CodeUnknownMachine, Title: "Not found",
			Detail: "Cluster " + id + " has no machine " + m + "."}
	}
	return &Problem{Status: http.StatusNotFound, Code: CodeNoResetOperation, Title: "Not found",
		Detail: "Machine " + m + " has had no reset."}
}

// standalone lists the machines no cluster names yet (docs/admin-api.md), store-paged.
func (r *Router) standalone(w http.ResponseWriter, req *http.Request) {
	if pr := unscopedOnly(req.Context(), "Standalone machines"); pr != nil {
		WriteProblem(w, pr)
		return
	}
	servePage(r, w, req, storeList("standalone"), func(ctx context.Context, p domain.Page) (domain.PageOf[domain.StandaloneMachine], error) {
		return r.d.Service.StandaloneMachines(ctx, p)
	})
}

func (r *Router) upcoming(w http.ResponseWriter, req *http.Request) {
	q, pr := parseQuery(req, "within", "limit", "cursor")
	var within time.Duration
	if pr == nil {
		within, pr = q.within(defaultWithin)
	}
	var p domain.Page
	if pr == nil {
		p, pr = q.page()
	}
	list := storeList("upcoming" + scopeTag(req.Context()))
	if pr == nil {
		p, pr = r.after(req, list, p)
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	res, err := r.d.Service.UpcomingPage(req.Context(), within, ScopeFrom(req.Context()), p)
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	writePage(r, w, req, list, res)
}

func (r *Router) orphans(w http.ResponseWriter, req *http.Request) {
	servePage(r, w, req, storeList("orphans"+scopeTag(req.Context())), func(ctx context.Context, p domain.Page) (domain.PageOf[domain.OrphanView], error) {
		return r.d.Service.OrphansPage(ctx, ScopeFrom(ctx), p)
	})
}

// cleanup is POST /orphans/cleanup's answer: the plans carried out (or, dry, that would be).
type cleanup struct {
	Outcome domain.Outcome `json:"outcome"`
	DryRun  bool           `json:"dryRun"`
	Items   []domain.Plan  `json:"items"`
}

func (r *Router) cleanupOrphans(w http.ResponseWriter, req *http.Request) {
	q, pr := parseQuery(req, "dryRun")
	var dry bool
	if pr == nil {
		dry, pr = q.boolean("dryRun", true, false)
	}
	if pr == nil {
		pr = readBody(w, req, &struct{}{})
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	meta := r.meta(req)
	plans, committed, err := r.d.Service.CleanupOrphans(req.Context(), dry, meta)
	r.publish(req.Context(), committed) // on error too: what was cleaned up before it is committed
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	out := cleanup{Outcome: domain.Unchanged, DryRun: dry, Items: items(plans).Items}
	if !dry && len(plans) > 0 {
		out.Outcome = domain.Updated
		r.d.Logger.InfoContext(req.Context(), "admin command", "route", req.Pattern, "principal", meta.Principal,
			"cleanedUp", len(plans), "messageId", meta.MessageID)
	}
	WriteJSON(w, http.StatusOK, out)
}

func (r *Router) rejections(w http.ResponseWriter, req *http.Request) {
	servePage(r, w, req, storeList("rejections"+scopeTag(req.Context())), func(ctx context.Context, p domain.Page) (domain.PageOf[domain.Rejection], error) {
		return r.d.Service.Rejections(ctx, ScopeFrom(ctx), p)
	})
}

// queue validates {queue} against the configured queues and that dead letters are reachable.
func (r *Router) queue(req *http.Request) (string, *Problem) {
	name := req.PathValue("queue")
	if pr := unscopedOnly(req.Context(), "Dead letters"); pr != nil {
		return "", pr
	}
	if !slices.Contains(r.d.Queues, name) {
		return "", invalid("queue", "Must be one of the configured queues: "+strings.Join(r.d.Queues, ", ")+".")
	}
	if r.d.DeadLetters == nil {
		return "", &Problem{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Title: "Dead letters unavailable",
			Detail: "No Service Bus connection is configured, so there are no dead letters to show."}
	}
	return name, nil
}

func (r *Router) deadLetters(w http.ResponseWriter, req *http.Request) {
	queue, pr := r.queue(req)
	var q query
	if pr == nil {
		q, pr = parseQuery(req, "limit", "cursor")
	}
	var p domain.Page
	if pr == nil {
		p, pr = q.page()
	}
	var from int64
	if pr == nil {
		from, pr = r.seqCursor(req, queue, p.Cursor)
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	dl, err := r.d.DeadLetters.DeadLetters(req.Context(), queue, from, p.Limit)
	res := domain.PageOf[api.DeadLetter]{Items: dl}
	if err == nil && len(dl) == p.Limit {
		// a full page: one more peek says whether more remain
		next := dl[len(dl)-1].SequenceNumber + 1
		var more []api.DeadLetter
		if more, err = r.d.DeadLetters.DeadLetters(req.Context(), queue, next, 1); err == nil && len(more) > 0 {
			res.NextCursor, err = r.seqCursorOf(req.Context(), queue, next)
		}
	}
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	WriteJSON(w, http.StatusOK, page(res))
}

// replayBody is POST /deadletters/{queue}/replay's body; no MessageIds replays every dead letter.
type replayBody struct {
	MessageIDs []string `json:"messageIds"`
}

var messageIDRE = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)

func (r *Router) replay(w http.ResponseWriter, req *http.Request) {
	queue, pr := r.queue(req)
	if pr == nil {
		_, pr = parseQuery(req)
	}
	var body replayBody
	if pr == nil {
		pr = readBody(w, req, &body)
	}
	if pr == nil && len(body.MessageIDs) > MaxLimit {
		pr = invalid("messageIds", "At most 1000 MessageIds per call.")
	}
	for _, id := range body.MessageIDs {
		if pr == nil && !messageIDRE.MatchString(id) {
			pr = invalid("messageIds", "Each MessageId is 1–128 printable ASCII characters.")
		}
	}
	if pr != nil {
		WriteProblem(w, pr)
		return
	}
	p, _ := PrincipalFrom(req.Context())
	rep, err := r.d.DeadLetters.Replay(req.Context(), queue, body.MessageIDs)
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	r.d.Logger.InfoContext(req.Context(), "admin command", "route", req.Pattern, "principal", p.Name,
		"queue", queue, "replayed", len(rep.Replayed), "notFound", len(rep.NotFound))
	if rep.Replayed == nil {
		rep.Replayed = []string{}
	}
	WriteJSON(w, http.StatusOK, rep)
}

// servePage answers a list route that takes only limit and cursor: it reads the page (the cursor
// checked against list), fetches it and writes it with its sealed next cursor.
func servePage[T any](r *Router, w http.ResponseWriter, req *http.Request, list storeList,
	fetch func(context.Context, domain.Page) (domain.PageOf[T], error)) {
	p, ok := r.plainPage(w, req, list)
	if !ok {
		return
	}
	res, err := fetch(req.Context(), p)
	if err != nil {
		r.failure(w, req, err, nil)
		return
	}
	writePage(r, w, req, list, res)
}

// plainPage reads the page of a list route that takes only limit and cursor (the cursor checked
// against list); on bad input it answers the problem and returns false.
func (r *Router) plainPage(w http.ResponseWriter, req *http.Request, list storeList) (domain.Page, bool) {
	q, pr := parseQuery(req, "limit", "cursor")
	var p domain.Page
	if pr == nil {
		p, pr = q.page()
	}
	if pr == nil {
		p, pr = r.after(req, list, p)
	}
	if pr != nil {
		WriteProblem(w, pr)
		return p, false
	}
	return p, true
}
