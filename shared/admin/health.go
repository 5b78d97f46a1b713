package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/azlocal/registrar/shared/logs"
)

// PathHealthz is the availability probe (docs/admin-api.md): public, no fleet data.
const PathHealthz = "/healthz"

// healthTimeout bounds the store probe, so an availability test gets a 503, not a hang.
const healthTimeout = 5 * time.Second

// health is what GET /healthz answers when the store answers.
type health struct {
	Status string `json:"status"`
}

// healthz answers 200 {"status":"ok"} when the store answers one read, else 503 Unavailable
// (the error is logged, not sent). It needs no principal: Easy Auth excludes the path (infra/).
func (r *Router) healthz(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), healthTimeout)
	defer cancel()
	if err := r.d.Service.Ping(ctx); err != nil {
		r.d.Logger.WarnContext(ctx, "healthz: the store does not answer", logs.Err(err))
		w.Header().Set("Retry-After", "5")
		WriteProblem(w, &Problem{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Title: "Temporarily unavailable", Detail: "The store does not answer; retry shortly."})
		return
	}
	WriteJSON(w, http.StatusOK, health{Status: "ok"})
}
