// Package apihttp writes the Admin API's answers over net/http (docs/admin-api.md, "Errors").
package apihttp

import (
	"encoding/json"
	"net/http"

	"github.com/azlocal/registrar/shared/api"
)

// WriteProblem answers p as application/problem+json, not cached; Type defaults to about:blank.
// It is the one problem writer of the Admin API, the dashboard and the local runner.
func WriteProblem(w http.ResponseWriter, p *api.Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
