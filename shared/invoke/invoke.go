// Package invoke is Registrar's one adapter to the Azure Functions host (custom handler,
// docs/architecture.md). It decodes the host's {"Data","Metadata"} envelopes into typed Service
// Bus messages, timer ticks and real *http.Requests, calls the function's handler and answers the
// host:
//
//   - success and permanent rejections: 200 with {"Outputs":{...},"Logs":[...],"ReturnValue":null}
//     (a queue message must never get a non-2xx for bad content: it would be redelivered);
//   - a transient failure (a handler's error, or a panic): 500 with a JSON body, so the platform retries;
//   - an envelope that is not JSON, or lacks the function's binding: 400 (the host's fault).
//
// A request the host forwards or proxies (host.json's enableForwardingHttpRequest and
// enableProxyingHttpRequest) arrives at its own path under /api/ and is served by the HTTP
// function directly, with the same bytes the envelope form would make the host write.
//
// Every invocation writes one structured log line (never the payload) and runs in a span whose
// parent is the host's traceparent (docs/operations.md). An envelope invocation's records, that
// line included, also go into its reply's Logs, which the host attaches to the invocation.
package invoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/azlocal/registrar/shared/logs"
)

// Binding names the adapter reads; every functions/*/function.json must use them.
const (
	BindingMessage = "message" // serviceBusTrigger input
	BindingTimer   = "timer"   // timerTrigger input
	BindingRequest = "req"     // httpTrigger input
	BindingResult  = "res"     // http output
)

// Sizes. Every message body of up to MaxMessageBytes reaches its function, whatever its
// escaping, so an oversized one is answered 2xx (the domain rejects it as MessageTooLarge) and not
// refused and redelivered. The host encodes a body as a JSON string twice, and copies a JSON
// body's top-level fields into Metadata as well: a body of control characters grows 7-fold
// (0x01 becomes \\u0001), a JSON body of escaped quotes 6-fold. So the handler reads envelopes
// of at least MinEnvelopeBytes (docs/architecture.md); DefaultMaxEnvelopeBytes is the cap.
const (
	MaxMessageBytes         = 4 << 20
	MinEnvelopeBytes        = 8 * MaxMessageBytes
	DefaultMaxEnvelopeBytes = MinEnvelopeBytes
)

// RoutePrefix is where forwarded and proxied requests arrive: host.json's
// extensions.http.routePrefix ("api") as a path.
const RoutePrefix = "/api/"

// Timeouts of the handler's HTTP server (cmd/handler); the local runner's server has the same.
// WriteTimeout is above host.json's functionTimeout (5 minutes), so a slow invocation is ended
// by the host, not cut off by the handler.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 1 * time.Minute
	WriteTimeout      = 6 * time.Minute
	IdleTimeout       = 2 * time.Minute
)

// Message is one Service Bus message as the trigger delivers it. Body is the message body
// exactly (already unwrapped from the host's string encoding); the other fields come from the
// trigger's system metadata (see decodeMessage for the rule against leaked body fields).
type Message struct {
	Body                  []byte
	MessageID             string
	CorrelationID         string
	SessionID             string
	Subject               string
	ContentType           string
	LockToken             string
	DeliveryCount         int
	EnqueuedTime          time.Time // UTC
	SequenceNumber        int64
	ApplicationProperties map[string]any
}

// QueueHandler handles one message. outcome is logged (created, updated, unchanged, duplicate,
// rejected); a non-nil err is a transient failure: the host abandons the message and it is
// redelivered.
type QueueHandler func(ctx context.Context, m Message) (outcome string, err error)

// Timer is one timer tick; the times are zero when the host sends no ScheduleStatus.
type Timer struct {
	IsPastDue               bool
	Last, Next, LastUpdated time.Time
}

// TimerHandler handles one timer run; a non-nil err fails the run (it is not retried before
// the next schedule).
type TimerHandler func(ctx context.Context, t Timer) (outcome string, err error)

// Functions are the handlers, keyed by function name (the functions/ folder name).
type Functions struct {
	Queues map[string]QueueHandler
	Timers map[string]TimerHandler
	HTTP   map[string]http.Handler
}

// Names lists every function name with a handler.
func (f Functions) Names() []string {
	var names []string
	for n := range f.Queues {
		names = append(names, n)
	}
	for n := range f.Timers {
		names = append(names, n)
	}
	for n := range f.HTTP {
		names = append(names, n)
	}
	return names
}

// ServerOptions are optional settings of NewServer; nil means defaults.
type ServerOptions struct {
	Logger           *slog.Logger // nil: slog.Default(); wrapped with LogHandler
	MaxEnvelopeBytes int64        // <= 0: DefaultMaxEnvelopeBytes; raised to MinEnvelopeBytes if lower
	// TracerProvider starts the invocations' spans; nil: a no-op one (the trace context still
	// flows: see traced).
	TracerProvider trace.TracerProvider
}

// Header names the host sends.
const (
	HeaderInvocationID = "X-Azure-Functions-InvocationId"
	HeaderHostVersion  = "X-Azure-Functions-HostVersion"
	HeaderTraceparent  = "traceparent"
)

type ctxKey struct{}

// InvocationID returns the host's invocation ID of the call ctx belongs to ("" outside one).
func InvocationID(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}

// NewServer returns the custom-handler HTTP surface: GET / answers 200 (the host's readiness
// ping), POST /{FunctionName} runs a function from the host's envelope, and a forwarded or
// proxied request under RoutePrefix is served by the HTTP function (when there is exactly one).
func NewServer(fns Functions, opts *ServerOptions) http.Handler {
	s := &server{fns: map[string]function{}, log: slog.Default(), max: DefaultMaxEnvelopeBytes}
	var tp trace.TracerProvider = noop.NewTracerProvider()
	if opts != nil {
		if opts.Logger != nil {
			s.log = opts.Logger
		}
		if opts.MaxEnvelopeBytes > 0 {
			s.max = max(opts.MaxEnvelopeBytes, MinEnvelopeBytes)
		}
		if opts.TracerProvider != nil {
			tp = opts.TracerProvider
		}
	}
	s.log = slog.New(LogHandler(s.log.Handler()))
	s.tracing = newTracing(tp)
	for name, q := range fns.Queues {
		s.fns[name] = function{queue: q}
	}
	for name, t := range fns.Timers {
		s.fns[name] = function{timer: t}
	}
	for name, h := range fns.HTTP {
		s.fns[name] = function{http: h}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if len(fns.HTTP) == 1 {
		for name, h := range fns.HTTP {
			mux.Handle(RoutePrefix, s.direct(name, h))
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such function"})
	})
	s.rest = s.tracing.traced(mux)
	return s
}

type server struct {
	fns     map[string]function
	log     *slog.Logger
	max     int64
	tracing tracing
	rest    http.Handler // every request but an envelope's
}

// function is one function's handler: one of the three is set.
type function struct {
	queue QueueHandler
	timer TimerHandler
	http  http.Handler
}

// binding is the input binding of the function's trigger.
func (f function) binding() string {
	switch {
	case f.timer != nil:
		return BindingTimer
	case f.http != nil:
		return BindingRequest
	}
	return BindingMessage
}

// failure is the body of a non-2xx answer.
type failure struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// InvocationOutcome is how an invocation ended: the invocation line's outcome (docs/operations.md). A
// function's handler returns its own (the domain's created, updated, unchanged, duplicate or
// rejected; a timer's completed or no-publisher); the adapter's are below. An HTTP invocation's
// status code is the line's status, never its outcome.
type InvocationOutcome string

// The adapter's outcomes, and those its functions share.
const (
	OutcomeTransient         InvocationOutcome = "transient" // failed: answered non-2xx, the platform retries
	OutcomeUnknownFunction   InvocationOutcome = "unknown-function"
	OutcomeMalformedEnvelope InvocationOutcome = "malformed-envelope"
	OutcomeEnvelopeTooLarge  InvocationOutcome = "envelope-too-large"
	OutcomeAnswered          InvocationOutcome = "answered"     // an HTTP invocation answered: see its status
	OutcomeCompleted         InvocationOutcome = "completed"    // a timer run finished
	OutcomeNoPublisher       InvocationOutcome = "no-publisher" // OutboxRelay without a Service Bus: nothing to do
)

// record is what the per-invocation log line says.
type record struct {
	function, invocationID string
	start                  time.Time
	msg                    Message
	outcome                InvocationOutcome
	status                 int // an HTTP invocation's status code
	err                    error
	logged                 bool
}

// ServeHTTP sends an envelope invocation (POST /{FunctionName}) straight to the adapter, and
// every other request through the mux.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/")
	if ok && r.Method == http.MethodPost && name != "" && r.URL.RawPath == "" && !strings.Contains(name, "/") {
		s.invoke(w, r, name)
		return
	}
	s.rest.ServeHTTP(w, r)
}

// invoke runs one envelope invocation of the function name and answers the host: 200 with the
// reply, or the failure's status (see the package comment).
func (s *server) invoke(w http.ResponseWriter, r *http.Request, name string) {
	rec := record{function: name, invocationID: invocationID(r.Header), start: time.Now()}
	ctx, span := s.tracing.start(r.Context(), r, name)
	defer span.End()
	defer func() { s.logLine(ctx, &rec) }() // unless the 2xx path below logged it

	fn, ok := s.fns[name]
	if !ok {
		rec.outcome = OutcomeUnknownFunction
		writeJSON(w, http.StatusNotFound, failure{Error: "no such function", Code: "UnknownFunction"})
		return
	}
	d := getDecoder()
	defer d.release()
	env, ok := s.envelope(w, r, d, fn, &rec)
	if !ok {
		return
	}

	inv := newInvocation(ctx, rec.invocationID, d.logs)
	defer func() { d.logs = inv.logs.close()[:0] }() // before release: no late record writes there
	res, envelErr, err := s.run(inv, d, &env, fn, &rec)
	switch {
	case envelErr != nil:
		rec.outcome, rec.err = OutcomeMalformedEnvelope, envelErr
		writeJSON(w, http.StatusBadRequest, failure{Error: envelErr.Error(), Code: "MalformedEnvelope"})
	case err != nil:
		rec.outcome, rec.err = OutcomeTransient, err
		writeJSON(w, http.StatusInternalServerError, failure{Error: "transient failure: the invocation will be retried", Code: "Transient"})
	default:
		s.logLine(inv, &rec) // the last Logs entry: only a 2xx reply's Logs reach the host
		d.out = writeReply(w, d.out, res, inv.logs.close())
	}
}

// envelope reads and parses the request's envelope into d. When it cannot, it answers the host
// (413 over the size cap, else 400), records why and returns false.
func (s *server) envelope(w http.ResponseWriter, r *http.Request, d *decoder, fn function, rec *record) (envelope, bool) {
	err := d.read(http.MaxBytesReader(w, r.Body, s.max))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		rec.outcome, rec.err = OutcomeEnvelopeTooLarge, err
		writeJSON(w, http.StatusRequestEntityTooLarge, failure{Error: "envelope too large", Code: "EnvelopeTooLarge"})
		return envelope{}, false
	}
	var env envelope
	if err == nil {
		env, err = d.parse(fn.binding(), fn.queue != nil)
	}
	if err != nil {
		rec.outcome, rec.err = OutcomeMalformedEnvelope, fmt.Errorf("%w: %v", errNotObject, err)
		writeJSON(w, http.StatusBadRequest, failure{Error: errNotObject.Error(), Code: "MalformedEnvelope"})
		return envelope{}, false
	}
	return env, true
}

// run decodes the function's input from env and calls it. It returns an HTTP function's res
// output, the envelope's fault (the host's), or the function's failure (transient: an error, a
// panic, a response too large).
func (s *server) run(ctx context.Context, d *decoder, env *envelope, fn function, rec *record) (res *recorder, envelErr, err error) {
	switch {
	case fn.queue != nil:
		m, envelErr := d.decodeMessage(env, BindingMessage)
		if envelErr != nil {
			return nil, envelErr, nil
		}
		rec.msg = m
		rec.outcome, err = guard(func() (string, error) { return fn.queue(ctx, m) })
	case fn.timer != nil:
		t, envelErr := d.decodeTimer(env, BindingTimer)
		if envelErr != nil {
			return nil, envelErr, nil
		}
		rec.outcome, err = guard(func() (string, error) { return fn.timer(ctx, t) })
	default:
		req, envelErr := d.decodeRequest(ctx, env, BindingRequest)
		if envelErr != nil {
			return nil, envelErr, nil
		}
		res = newRecorder(int(s.max))
		_, err = guard(func() (string, error) { fn.http.ServeHTTP(res, req); return "", nil })
		if err == nil && res.over {
			err = errors.New("response body too large")
		}
		if err == nil {
			var status int
			status, rec.err = res.result()
			rec.outcome, rec.status = OutcomeAnswered, status
		}
	}
	return res, nil, err
}

// invocationID is the host's invocation ID of a request: the last X-Azure-Functions-InvocationId
// value, because a forwarding host appends its own to any the client sent.
func invocationID(h http.Header) string {
	vs := h.Values(HeaderInvocationID)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// guard runs fn, turning a panic into an error (a transient failure).
func guard(fn func() (string, error)) (outcome InvocationOutcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			outcome, err = "", fmt.Errorf("panic: %v", p)
		}
	}()
	o, err := fn()
	return InvocationOutcome(o), err
}

// logLine writes the invocation's line (at Error for a failure, which answers non-2xx) and marks
// its span. With a context that collects Logs, the line is also the reply's last Logs entry.
// A record is logged once.
func (s *server) logLine(ctx context.Context, rec *record) {
	if rec.logged {
		return
	}
	rec.logged = true
	var buf [10]slog.Attr
	attrs := append(buf[:0],
		slog.String("function", rec.function),
		slog.String(logs.InvocationIDKey, rec.invocationID),
		slog.String("traceId", trace.SpanContextFromContext(ctx).TraceID().String()))
	if rec.msg.MessageID != "" || rec.msg.DeliveryCount != 0 {
		attrs = append(attrs,
			slog.String("messageId", rec.msg.MessageID),
			slog.String("correlationId", rec.msg.CorrelationID),
			slog.Int("deliveryCount", rec.msg.DeliveryCount))
	}
	d := time.Since(rec.start)
	attrs = append(attrs, slog.String(logs.OutcomeKey, string(rec.outcome)))
	if rec.status != 0 {
		attrs = append(attrs, slog.Int(logs.StatusKey, rec.status))
	}
	attrs = append(attrs, slog.Float64("durationMs", float64(d.Microseconds())/1000))
	level := slog.LevelInfo
	if rec.err != nil {
		level = slog.LevelError
		attrs = append(attrs, logs.Err(rec.err))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attributeOutcome.String(string(rec.outcome)))
		if rec.err != nil {
			span.SetStatus(codes.Error, string(rec.outcome))
		}
	}
	// As Logger.LogAttrs, without the caller's PC: the line always comes from here.
	if h := s.log.Handler(); h.Enabled(ctx, level) {
		r := slog.NewRecord(time.Now(), level, "invocation", 0)
		r.AddAttrs(attrs...)
		_ = h.Handle(ctx, r)
	}
}
