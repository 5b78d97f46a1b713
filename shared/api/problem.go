// Package api holds the Admin API's wire types and names (docs/admin-api.md, docs/openapi.json):
// what the API answers, the command line reads and the dashboard shows. It imports neither the
// domain, nor net/http, nor any Azure SDK, so each of them (the domain included) can depend on it.
package api

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
