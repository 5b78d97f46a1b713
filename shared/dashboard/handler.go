// Package dashboard serves the fleet dashboard (docs/dashboard.md) and GET /api/v1/summary (docs/admin-api.md) on
// the Admin API's router: a read-only page of embedded HTML, CSS and vanilla JavaScript that is
// one more client of the API's JSON, under a strict Content-Security-Policy.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/logs"
)

// Paths served, relative to admin.Prefix.
const (
	PathSummary   = "/summary"
	PathDashboard = "/dashboard"
	PathAssets    = "/dashboard/{asset...}"
)

// CSP is the dashboard's Content-Security-Policy: nothing inline, nothing from elsewhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

//go:embed assets
var assets embed.FS

// contentTypes maps the embedded assets' extensions to their media types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Options are optional settings of Register; nil means defaults.
type Options struct {
	Logger *slog.Logger // nil: slog.Default()
}

// Register serves GET /summary, GET /dashboard and GET /dashboard/{asset...} on r, each with
// permission clusters/read (401/403 as every other route).
func Register(r *admin.Router, d Deps, opts *Options) {
	log := slog.Default()
	if opts != nil && opts.Logger != nil {
		log = opts.Logger
	}
	h := &handler{d: d, log: log}
	r.Handle(http.MethodGet, PathSummary, api.PermClustersRead, http.HandlerFunc(h.summary))
	r.Handle(http.MethodGet, PathDashboard, api.PermClustersRead, http.HandlerFunc(h.asset))
	r.Handle(http.MethodGet, PathAssets, api.PermClustersRead, http.HandlerFunc(h.asset))
}

type handler struct {
	d   Deps
	log *slog.Logger
}

// summary answers the fleet summary; it takes no query parameters.
func (h *handler) summary(w http.ResponseWriter, req *http.Request) {
	if q := req.URL.Query(); len(q) > 0 {
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		sort.Strings(names)
		admin.WriteProblem(w, &admin.Problem{Status: http.StatusBadRequest, Code: domain.CodeInvalidField,
			Title: "Invalid field", Field: names[0], Detail: "/summary takes no query parameters."})
		return
	}
	s, err := Build(req.Context(), h.d, admin.ScopeFrom(req.Context()))
	if err != nil {
		h.failure(w, req, err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, s)
}

// asset serves an embedded file: the page itself for /dashboard and /dashboard/.
func (h *handler) asset(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("asset")
	if name == "" {
		name = "index.html"
	}
	ct, known := contentTypes[path.Ext(name)]
	b, err := fs.ReadFile(assets, "assets/"+name)
	if name == namesAsset {
		b, err = namesJS(), nil
	}
	if !known || err != nil || strings.HasPrefix(name, ".") {
		admin.WriteProblem(w, &admin.Problem{Status: http.StatusNotFound, Code: admin.CodeNotFound,
			Title: "No such asset", Detail: "The dashboard has no such file."})
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// failure answers transient faults 503 with Retry-After (the caller retries) and anything else
// 500; the error's text is logged, never sent.
func (h *handler) failure(w http.ResponseWriter, req *http.Request, err error) {
	if errors.Is(err, domain.ErrTransient) || errors.Is(err, domain.ErrConflict) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		h.log.WarnContext(req.Context(), "dashboard: transient failure", "route", req.Pattern, logs.Err(err))
		w.Header().Set("Retry-After", "5")
		admin.WriteProblem(w, &admin.Problem{Status: http.StatusServiceUnavailable, Code: admin.CodeUnavailable,
			Title: "Temporarily unavailable", Detail: "A dependency is temporarily unavailable; retry shortly."})
		return
	}
	h.log.ErrorContext(req.Context(), "dashboard: request failed", "route", req.Pattern, logs.Err(err))
	admin.WriteProblem(w, &admin.Problem{Status: http.StatusInternalServerError, Code: admin.CodeInternal,
		Title: "Internal error", Detail: "The request failed; the error is logged."})
}
