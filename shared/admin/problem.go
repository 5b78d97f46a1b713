package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/api/apihttp"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/logs"
)

// Problem codes the API adds to the domain's (domain.Code*) and auth's (auth.Code*).
const (
	CodeNotFound         = "NotFound"                  // 404: no such route
	CodeMethodNotAllowed = "MethodNotAllowed"          // 405
	CodeRequestTooLarge  = "RequestTooLarge"           // 413: body over MaxBody
	CodeNoResetOperation = domain.CodeNoResetOperation // 404: the machine never had a reset
	CodeUnavailable      = "Unavailable"               // 503: a dependency is down or not configured; retry
	CodeInternal         = "InternalError"             // 500
)

// Problem is an RFC 9457 problem details body with the stable code and, for InvalidField, the field.
type Problem = api.Problem

// WriteProblem answers p as application/problem+json; Type defaults to about:blank.
func WriteProblem(w http.ResponseWriter, p *Problem) { apihttp.WriteProblem(w, p) }

// WriteJSON answers v as application/json with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAuthError(w http.ResponseWriter, err error) {
	var e *auth.Error
	if !errors.As(err, &e) {
		e = &auth.Error{Status: http.StatusUnauthorized, Code: auth.CodeUnauthenticated, Detail: "The caller is not authenticated."}
	}
	title := "Not authenticated"
	if e.Status == http.StatusForbidden {
		title = "Permission denied"
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="registrar"`)
	}
	WriteProblem(w, &Problem{Status: e.Status, Code: e.Code, Title: title, Detail: e.Detail})
}

// invalid is a 400 InvalidField problem.
func invalid(field, detail string) *Problem {
	return &Problem{Status: http.StatusBadRequest, Code: domain.CodeInvalidField, Title: "Invalid field", Field: field, Detail: detail}
}

// statusOf maps a domain refusal code to its HTTP status: 400 bad input, 404 unknown things,
// 422 an Idempotency-Key reused for another body, 409 a rule refuses it.
func statusOf(code string) int {
	switch code {
	case domain.CodeInvalidField, domain.CodeMalformedMessage, domain.CodeUnknownMessageType, domain.CodeMessageTooLarge:
		return http.StatusBadRequest
	case domain.CodeUnknownCluster, domain.CodeUnknownMachine, domain.CodeUnknownOperation, CodeNoResetOperation:
		return http.StatusNotFound
	case domain.CodeIdempotencyKeyReused:
		return http.StatusUnprocessableEntity
	}
	return http.StatusConflict
}

// fromDomain turns a domain refusal into problem details.
func fromDomain(p *domain.Problem) *Problem {
	return &Problem{Status: statusOf(p.Code), Code: p.Code, Title: titleOf(p.Code), Detail: p.Reason, Field: p.Field, Number: p.Number()}
}

func titleOf(code string) string {
	switch statusOf(code) {
	case http.StatusBadRequest:
		return "Invalid request"
	case http.StatusNotFound:
		return "Not found"
	}
	return "Refused by the registration rules"
}

// failure answers an error from the domain or a dependency (see problemOf).
func (r *Router) failure(w http.ResponseWriter, req *http.Request, err error, notFound *Problem) {
	p := r.problemOf(req, err, notFound)
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	WriteProblem(w, p)
}

// problemOf is the problem an error from the domain or a dependency is answered with: Problems
// as such, ErrNotFound as 404 (notFound names what), transient faults 503 (answered
// with Retry-After), anything else 500. The error text of unexpected failures is logged,
// never sent.
func (r *Router) problemOf(req *http.Request, err error, notFound *Problem) *Problem {
	if p, ok := domain.AsProblem(err); ok {
		return fromDomain(p)
	}
	switch {
	case errors.Is(err, domain.ErrOutOfScope): // a command's: reads answer their notFound instead
		return outOfScope(req.Context(), req.PathValue("clusterId"))
	case errors.Is(err, domain.ErrNotFound) && notFound != nil:
		return notFound
	case errors.Is(err, domain.ErrInvalidCursor):
		return invalid("cursor", "Not a cursor this API gave out; pass back nextCursor unchanged.")
	case errors.Is(err, domain.ErrTransient), errors.Is(err, domain.ErrConflict),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		r.d.Logger.WarnContext(req.Context(), "admin: transient failure", "route", req.Pattern, logs.Err(err))
		return &Problem{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Title: "Temporarily unavailable",
			Detail: "A dependency is temporarily unavailable; retry shortly."}
	}
	r.d.Logger.ErrorContext(req.Context(), "admin: request failed", "route", req.Pattern, logs.Err(err))
	return &Problem{Status: http.StatusInternalServerError, Code: CodeInternal, Title: "Internal error",
		Detail: "The request failed; the error is logged."}
}
