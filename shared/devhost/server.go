package devhost

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/api/apihttp"
	"github.com/azlocal/registrar/shared/logs"
)

// Body limits of the runner's own endpoints.
const (
	maxRequestBody = 4 << 20 // an HTTP-triggered request
	maxMessageBody = 4 << 20 // a posted queue message: above Service Bus's 256 KiB, so the handler's own limit is what rejects
)

// Easy Auth's principal headers (App Service Authentication).
const (
	headerPrincipal     = "X-MS-CLIENT-PRINCIPAL"
	headerPrincipalName = "X-MS-CLIENT-PRINCIPAL-NAME"
	headerPrincipalID   = "X-MS-CLIENT-PRINCIPAL-ID"
	headerPrincipalIDP  = "X-MS-CLIENT-PRINCIPAL-IDP"
)

func (r *Runner) routes() {
	m := http.NewServeMux()
	m.HandleFunc("/api/", r.serveHTTPFunction)
	m.HandleFunc("POST /dev/servicebus/{queue}/messages", r.postMessage)
	m.HandleFunc("GET /dev/events", r.getEvents)
	m.HandleFunc("GET /dev/clock", r.getClock)
	m.HandleFunc("POST /dev/clock", r.postClock)
	m.HandleFunc("POST /admin/functions/{name}", r.runFunction)
	r.mux = m
}

// ServeHTTP serves the runner's endpoints: /api/... (HTTP-triggered functions),
// /dev/servicebus, /dev/events, /dev/clock and /admin/functions/{name}, to this machine only
// (localOnly).
func (r *Runner) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if !started {
		problem(w, http.StatusServiceUnavailable, "NotStarted", "The local runner has not started its handler yet.")
		return
	}
	if !localOnly(w, req) {
		return
	}
	r.mux.ServeHTTP(w, req)
}

// problem writes an RFC 9457 problem with a stable code.
func problem(w http.ResponseWriter, status int, code, detail string) {
	apihttp.WriteProblem(w, &api.Problem{Title: http.StatusText(status), Status: status, Detail: detail, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// matchRoute matches path (after /api/) against a route template such as "v1/{*path}" and
// returns the route values. Literal segments compare case-insensitively, as on the host.
func matchRoute(route, path string) (map[string]string, bool) {
	params := map[string]string{}
	tmpl := strings.Split(strings.Trim(route, "/"), "/")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if path == "" || strings.Trim(path, "/") == "" {
		segs = nil
	}
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{*") && strings.HasSuffix(t, "}") {
			name := strings.TrimSuffix(strings.TrimPrefix(t, "{*"), "}")
			if i < len(segs) {
				params[name] = strings.Join(segs[i:], "/")
			}
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			name, _, _ := strings.Cut(strings.Trim(t, "{}?"), ":")
			params[name] = segs[i]
			continue
		}
		if !strings.EqualFold(t, segs[i]) {
			return nil, false
		}
	}
	return params, len(segs) == len(tmpl)
}

// serveHTTPFunction serves /api/{route} through the matching HTTP-triggered function as the
// host would: proxied, forwarded or through the envelope form (httpMode). It stands in for Easy
// Auth first. A failed invocation is a 500, as on the host.
func (r *Runner) serveHTTPFunction(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimPrefix(req.URL.Path, "/api/")
	var fn Function
	var params map[string]string
	for _, f := range r.fns {
		if f.Trigger != HTTPTrigger {
			continue
		}
		if p, ok := matchRoute(f.Route, path); ok && (len(f.Methods) == 0 || slices.Contains(f.Methods, req.Method)) {
			fn, params = f, p
			break
		}
	}
	if fn.Name == "" {
		problem(w, http.StatusNotFound, "NoSuchFunction", "No HTTP-triggered function serves this method and route.")
		return
	}
	req.Header = req.Header.Clone()
	if req.Header.Get(headerPrincipal) == "" {
		r.addLocalPrincipal(req.Header)
	}
	switch fn.HTTPMode {
	case HTTPProxy:
		r.proxy.ServeHTTP(w, req)
	case HTTPForward:
		r.forward(w, req, fn)
	default:
		r.envelopeHTTP(w, req, fn, params)
	}
}

// envelopeHTTP invokes fn with Data.req built as the host builds it and writes the http output
// as the host writes it (hostResponse).
func (r *Runner) envelopeHTTP(w http.ResponseWriter, req *http.Request, fn Function, params map[string]string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxRequestBody))
	if err != nil {
		problem(w, http.StatusRequestEntityTooLarge, "RequestTooLarge", "The request body is larger than the runner accepts.")
		return
	}
	rep, err := r.invoke(req.Context(), fn, httpEnvelope(fn, req, body, params, r.clock.Now()))
	if err != nil {
		r.log.Warn("devhost: HTTP invocation failed", "function", fn.Name, logs.Err(err))
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	res, err := hostResponse(fn, rep)
	if err != nil {
		r.log.Warn("devhost: the host could not write the HTTP output", "function", fn.Name, logs.Err(err))
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for k, vs := range res.Headers {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.Body)))
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

// addLocalPrincipal sets the headers Easy Auth would set for the local principal.
func (r *Runner) addLocalPrincipal(h http.Header) {
	type claim struct {
		Typ string `json:"typ"`
		Val string `json:"val"`
	}
	claims := []claim{{"name", r.opts.Principal}, {"preferred_username", r.opts.Principal}, {"http://schemas.microsoft.com/identity/claims/objectidentifier", localPrincipalID}}
	for _, role := range r.opts.Roles {
		claims = append(claims, claim{"roles", role})
	}
	raw, _ := json.Marshal(map[string]any{"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"})
	h.Set(headerPrincipal, base64.StdEncoding.EncodeToString(raw))
	h.Set(headerPrincipalName, r.opts.Principal)
	h.Set(headerPrincipalID, localPrincipalID)
	h.Set(headerPrincipalIDP, "aad")
}

// localPrincipalID is the local principal's fixed object ID.
const localPrincipalID = "00000000-0000-0000-0000-00000000d0e5"

// brokerProperties is the BrokerProperties header of the Service Bus REST API.
type brokerProperties struct {
	MessageID     string `json:"MessageId"`
	CorrelationID string `json:"CorrelationId"`
	SessionID     string `json:"SessionId"`
	Label         string `json:"Label"`
	Subject       string `json:"Subject"`
}

// postMessage enqueues the request body on a queue: 201 {"messageId":...}.
func (r *Runner) postMessage(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("queue")
	if _, ok := r.queues[name]; !ok {
		problem(w, http.StatusNotFound, "UnknownQueue", "No function listens on queue "+strconv.Quote(name)+".")
		return
	}
	var bp brokerProperties
	if h := req.Header.Get("BrokerProperties"); h != "" {
		if err := json.Unmarshal([]byte(h), &bp); err != nil {
			problem(w, http.StatusBadRequest, "InvalidBrokerProperties", "The BrokerProperties header is not a JSON object.")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxMessageBody))
	if err != nil {
		problem(w, http.StatusRequestEntityTooLarge, "MessageTooLarge", "The message body is larger than the runner accepts.")
		return
	}
	subject := bp.Subject
	if subject == "" {
		subject = bp.Label
	}
	id, err := r.Enqueue(name, Message{
		MessageID: bp.MessageID, CorrelationID: bp.CorrelationID, SessionID: bp.SessionID, Subject: subject,
		ContentType: req.Header.Get("Content-Type"), Body: body,
	})
	if err != nil {
		problem(w, http.StatusNotFound, "UnknownQueue", "No function listens on queue "+strconv.Quote(name)+".")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"messageId": id})
}

// getEvents lists the events published so far, oldest first.
func (r *Runner) getEvents(w http.ResponseWriter, _ *http.Request) {
	if r.opts.EventsElsewhere != "" {
		problem(w, http.StatusConflict, "EventsElsewhere", "Events are published to "+r.opts.EventsElsewhere+", not kept by the local runner.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": r.Events()})
}

func (r *Runner) getClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": r.clock.Now().Format(time.RFC3339Nano)})
}

// postClock moves the clock by {"advance":"720h"} (Go durations, or days as "30d") or to
// {"now":"<RFC 3339>"}, then fires the timers whose schedule it passed.
func (r *Runner) postClock(w http.ResponseWriter, req *http.Request) {
	var in struct {
		Advance string `json:"advance"`
		Now     string `json:"now"`
	}
	dec := json.NewDecoder(io.LimitReader(req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || (in.Advance == "") == (in.Now == "") {
		problem(w, http.StatusBadRequest, "InvalidField", `Send {"advance":"720h"} or {"now":"2026-01-01T00:00:00Z"}, exactly one of them.`)
		return
	}
	var now time.Time
	if in.Advance != "" {
		d, err := parseDuration(in.Advance)
		if err != nil {
			problem(w, http.StatusBadRequest, "InvalidField", "advance is not a duration such as 720h or 30d.")
			return
		}
		now = r.clock.Advance(d)
	} else {
		t, err := time.Parse(time.RFC3339Nano, in.Now)
		if err != nil {
			problem(w, http.StatusBadRequest, "InvalidField", "now is not an RFC 3339 time.")
			return
		}
		now = r.clock.Set(t)
	}
	r.clockMoved(now)
	writeJSON(w, http.StatusOK, map[string]any{"now": now.Format(time.RFC3339Nano)})
}

// parseDuration takes Go durations and whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// runFunction runs a function now, as Core Tools' admin endpoint does: a timer fires (its
// body {"input":""} is ignored); for a queue-triggered function, input is enqueued as the
// message body. It answers 202.
func (r *Runner) runFunction(w http.ResponseWriter, req *http.Request) {
	fn, ok := r.byName[req.PathValue("name")]
	if !ok {
		problem(w, http.StatusNotFound, "NoSuchFunction", "There is no function of that name.")
		return
	}
	var in struct {
		Input string `json:"input"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, maxMessageBody)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		problem(w, http.StatusBadRequest, "InvalidField", `The body is not {"input":"..."}.`)
		return
	}
	switch fn.Trigger {
	case TimerTrigger:
		_ = r.RunNow(fn.Name)
	case ServiceBusTrigger:
		if _, err := r.Enqueue(fn.Queue, Message{Body: []byte(in.Input)}); err != nil {
			problem(w, http.StatusNotFound, "UnknownQueue", "The function's queue is unknown.")
			return
		}
	default:
		problem(w, http.StatusBadRequest, "NotInvocable", "HTTP-triggered functions are called through /api.")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
