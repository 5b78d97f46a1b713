// Package api holds the Admin API's wire types (docs/admin-api.md, docs/openapi.json): what the
// API answers, the command line reads and the dashboard shows. It imports neither the domain
// nor any Azure SDK, so each of them can depend on it.
package api

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem details body with the stable code and, for InvalidField, the field.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	Number int    `json:"number,omitempty"` // the numeric code of Azure Local's cmdlets, where it has one
}

// WriteProblem answers p as application/problem+json, not cached; Type defaults to about:blank.
// It is the one problem writer of the Admin API, the dashboard and the local runner.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
