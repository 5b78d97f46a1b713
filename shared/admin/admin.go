// Package admin is the Admin function's HTTP API under /api/v1 (docs/admin-api.md): a plain http.Handler
// that authenticates every request (package auth), authorizes it by the route's permission,
// validates paths, queries and bodies strictly, and answers application/json or
// application/problem+json (RFC 9457, with a stable code).
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/logs"
)

// Prefix is where the API is served (the Admin function's route v1/{*path} under /api).
const Prefix = "/api/v1"

// Deps is what the API works with.
type Deps struct {
	Service *domain.Service
	Auth    *auth.Authorizer
	// DeadLetters lists and replays dead letters; nil answers the dead-letter routes 503.
	DeadLetters DeadLetterQueue
	// Queues are the configured queue names the dead-letter routes accept.
	Queues []string
	Clock  domain.Clock
	Logger *slog.Logger // nil: slog.Default()
	// Relay publishes the events a command committed, right after it; nil leaves them to the
	// OutboxRelay timer. A failed publish is logged, not answered: the events stay committed.
	Relay Flusher
	// BulkBudget is how long a bulk request starts new items (0: DefaultBulkBudget); the items
	// left are answered NotAttempted.
	BulkBudget time.Duration
	// CursorKeys authenticate the lists' cursors (the setting Admin__CursorKey): the first seals,
	// any opens (a rotation keeps the old one a while). None: the deployment's own key, generated
	// once in the store and shared by every instance (docs/admin-api.md, "Cursors").
	CursorKeys [][]byte
	// RequestID is the id the platform gave a request (the Functions host's invocation ID,
	// app: invoke.InvocationID); a command's MessageID is made of it. nil, or an id that is not a
	// GUID: a random one.
	RequestID func(ctx context.Context) string
}

// Flusher publishes committed events (relay.Relay).
type Flusher interface {
	Flush(ctx context.Context, events []domain.Event) error
}

// publish flushes events committed by a command; failure leaves them to the OutboxRelay.
func (r *Router) publish(ctx context.Context, events []domain.Event) {
	if r.d.Relay == nil || len(events) == 0 {
		return
	}
	if err := r.d.Relay.Flush(ctx, events); err != nil {
		r.d.Logger.WarnContext(ctx, "publish after commit failed; the outbox relay will retry",
			"events", len(events), logs.Err(err))
	}
}

// Route is one served method and path (relative to Prefix, with {name} wildcards) and the
// permission it needs.
type Route struct {
	Method     string
	Path       string
	Permission string
}

// Router serves the API. Register more routes with Handle before serving.
type Router struct {
	d       Deps
	cursors *cursorKeys
	mux     *http.ServeMux
	routes  []Route
	public  []Route             // routes served without a principal (HandlePublic)
	paths   map[string][]string // path → methods, for 405 and Allow
}

// New returns the API with every route of docs/admin-api.md except /summary and /dashboard, which their
// owners add with Handle.
func New(d Deps) *Router {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	r := &Router{d: d, cursors: &cursorKeys{configured: d.CursorKeys}, mux: http.NewServeMux(), paths: map[string][]string{}}
	r.mux.HandleFunc("/", r.notFound)
	r.routeAll()
	return r
}

// Handle serves method and path (relative to Prefix, Go 1.22 wildcards such as {clusterId})
// to callers holding permission; permission "" serves every authenticated caller (GET /me,
// docs/admin-api.md#who-am-i). The handler finds the caller with PrincipalFrom. A wrong
// method on a served path answers 405 with Allow; Handle panics on a duplicate route, as
// http.ServeMux does.
func (r *Router) Handle(method, path, permission string, h http.Handler) {
	full := Prefix + path
	r.mux.Handle(method+" "+full, r.guard(permission, h))
	if _, seen := r.paths[full]; !seen {
		r.mux.HandleFunc(full, r.wrongMethod)
	}
	r.paths[full] = append(r.paths[full], method)
	r.routes = append(r.routes, Route{Method: method, Path: path, Permission: permission})
}

// Routes lists the served routes that need a principal, in registration order (Permission ""
// for one any authenticated caller may ask).
func (r *Router) Routes() []Route { return slices.Clone(r.routes) }

// HandlePublic serves method and path (relative to Prefix) to any caller, with no principal:
// only for what must work without one (the health probe). A wrong method answers 405.
func (r *Router) HandlePublic(method, path string, h http.Handler) {
	full := Prefix + path
	r.mux.Handle(method+" "+full, h)
	if _, seen := r.paths[full]; !seen {
		r.mux.HandleFunc(full, r.wrongMethod)
	}
	r.paths[full] = append(r.paths[full], method)
	r.public = append(r.public, Route{Method: method, Path: path})
}

// PublicRoutes lists the routes served without a principal (Permission empty).
func (r *Router) PublicRoutes() []Route { return slices.Clone(r.public) }

// ServeHTTP serves the API. Paths that are not clean (dot segments, doubled slashes) are 404
// rather than redirected; escaped slashes stay inside their segment and fail its validation.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p := req.URL.EscapedPath()
	if c := path.Clean(p); p == "" || (c != p && c+"/" != p) {
		r.notFound(w, req)
		return
	}
	r.mux.ServeHTTP(w, req)
}

// guard authenticates and authorizes before h runs: the caller holds permission somewhere; where
// is the request's ScopeFrom. Permission "" only authenticates (its scope is nothing).
func (r *Router) guard(permission string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p, err := r.d.Auth.Authenticate(req.Header)
		if err == nil && permission != "" {
			err = r.d.Auth.Authorize(p, permission)
		}
		if err != nil {
			writeAuthError(w, err)
			return
		}
		c := caller{principal: p, permission: permission}
		if permission != "" {
			c.scope = r.d.Auth.Scope(p, permission)
		}
		h.ServeHTTP(w, req.WithContext(withCaller(req.Context(), c)))
	})
}

// notFound answers unknown paths: 401 to an unauthenticated caller, else 404.
func (r *Router) notFound(w http.ResponseWriter, req *http.Request) {
	if _, err := r.d.Auth.Authenticate(req.Header); err != nil {
		writeAuthError(w, err)
		return
	}
	WriteProblem(w, &Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "No such route",
		Detail: "The API serves no such path; see docs/openapi.json."})
}

// wrongMethod answers a served path asked with a method it does not serve (401 first for an
// unauthenticated caller, unless the path is public).
func (r *Router) wrongMethod(w http.ResponseWriter, req *http.Request) {
	_, pattern := r.mux.Handler(req)
	public := slices.ContainsFunc(r.public, func(p Route) bool { return Prefix+p.Path == pattern })
	if _, err := r.d.Auth.Authenticate(req.Header); err != nil && !public {
		writeAuthError(w, err)
		return
	}
	methods := r.paths[pattern]
	w.Header().Set("Allow", strings.Join(methods, ", "))
	WriteProblem(w, &Problem{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Title: "Method not allowed",
		Detail: "This path answers " + strings.Join(methods, ", ") + "."})
}

// DeadLetterQueue lists and replays the dead letters of Registrar's queues.
type DeadLetterQueue interface {
	// DeadLetters lists up to max (1..1000; <= 0 means 100) dead letters of queue whose
	// sequence number is at least from (0: from the oldest), in sequence-number order, without
	// locking them. The next page starts at the last one's SequenceNumber + 1.
	DeadLetters(ctx context.Context, queue string, from int64, max int) ([]api.DeadLetter, error)
	// Replay re-sends the dead letters with the given MessageIds (empty = all) to queue, each
	// completed in the dead-letter queue only after its re-send succeeded.
	Replay(ctx context.Context, queue string, messageIDs []string) (api.ReplayReport, error)
}
