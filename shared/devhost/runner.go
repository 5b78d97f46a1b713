package devhost

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/logs"
)

// MovableClock is the runner's clock, shared with the app: it tells the time and POST
// /dev/clock moves it. *clock.Manual and *Clock implement it.
type MovableClock interface {
	domain.Clock
	Set(t time.Time) time.Time
	Advance(d time.Duration) time.Time
}

// Options tune a Runner; the zero value (or nil) means the defaults.
type Options struct {
	// Clock is shared with the app; nil means NewClock(): the system time, movable.
	Clock MovableClock
	// Roles are the app roles of the local principal given to requests that carry no
	// X-MS-CLIENT-PRINCIPAL; nil means Registrar.Admin.
	Roles []string
	// Principal is the local principal's name; "" means local-operator.
	Principal string
	// ManualTimers fires timers only on request (POST /admin/functions/{name}), never on
	// their schedules nor when the clock is moved.
	ManualTimers bool
	// MaxDeliveryCount is the deliveries before dead-lettering; 0 means MaxDeliveryCount (10).
	MaxDeliveryCount int
	// RetryDelay is the pause before a redelivery, times the deliveries so far (capped at
	// 5s); 0 means 200ms.
	RetryDelay time.Duration
	// Tick is how often timers are checked against the clock; 0 means one second.
	Tick time.Duration
	// EventsElsewhere, when set, says where the app publishes events instead of the runner's
	// in-memory topic (e.g. a real Service Bus topic); GET /dev/events then says so.
	EventsElsewhere string
	// Logger receives the runner's and the handler's log lines; nil means slog.Default().
	Logger *slog.Logger
	// HandlerLogsHere says the handler runs in this process and logs each record to Logger
	// itself (cmd/devhost): the runner then does not print a 2xx reply's Logs again, which
	// would show each record twice. The host records both, the handler's console lines and
	// the Logs (docs/operations.md); one terminal needs each record once.
	HandlerLogsHere bool
	// HTTPMode, when set, replaces host.json's choice for the functions the host may forward or
	// proxy: HTTPEnvelope plays a host that does neither, HTTPForward one that knows only
	// forwarding, HTTPProxy one that proxies.
	HTTPMode HTTPMode
}

// Runner is the local stand-in for the Functions host. Create it with New, give its Publish
// and dead-letter methods to the app, then Start it with the app's custom-handler
// http.Handler and serve it (it is an http.Handler).
type Runner struct {
	fns    []Function
	byName map[string]Function
	queues map[string]*queue
	timers map[string]*timer
	topic  topic
	clock  MovableClock
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux

	mu        sync.Mutex
	started   bool
	target    string // the handler's base URL
	client    *http.Client
	forwarder *http.Client           // forwarded requests: redirects not followed
	proxy     *httputil.ReverseProxy // proxied requests
	srv       *http.Server
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // delivery and timer goroutines
	served    chan struct{}  // closed when the handler's server stopped
}

// New builds a runner for the functions (see LoadFunctions).
func New(fns []Function, opts *Options) (*Runner, error) {
	r := &Runner{byName: map[string]Function{}, queues: map[string]*queue{}, timers: map[string]*timer{}}
	if opts != nil {
		r.opts = *opts
	}
	if err := r.opts.defaults(); err != nil {
		return nil, err
	}
	r.log, r.clock = r.opts.Logger, r.opts.Clock
	now := r.clock.Now()
	for _, fn := range fns {
		if err := r.add(fn, now); err != nil {
			return nil, err
		}
	}
	r.routes()
	return r, nil
}

// defaults fills o's zero fields with their defaults; an unknown HTTPMode is an error.
func (o *Options) defaults() error {
	switch o.HTTPMode {
	case "", HTTPEnvelope, HTTPForward, HTTPProxy:
	default:
		return fmt.Errorf("devhost: HTTP mode %q: want %s, %s or %s", o.HTTPMode, HTTPProxy, HTTPForward, HTTPEnvelope)
	}
	if o.Clock == nil {
		o.Clock = NewClock()
	}
	if len(o.Roles) == 0 {
		o.Roles = []string{"Registrar.Admin"}
	}
	o.Principal = cmp.Or(o.Principal, "local-operator")
	if o.MaxDeliveryCount <= 0 {
		o.MaxDeliveryCount = MaxDeliveryCount
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 200 * time.Millisecond
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// add adds fn to the runner: its HTTP mode (Options.HTTPMode replaces host.json's choice), its
// queue or its timer (first due after now). A name or a queue used twice is an error.
func (r *Runner) add(fn Function, now time.Time) error {
	switch {
	case fn.Trigger != HTTPTrigger:
	case r.opts.HTTPMode != "" && fn.direct():
		fn.HTTPMode = r.opts.HTTPMode
	case fn.HTTPMode == "":
		fn.HTTPMode = HTTPEnvelope
	}
	if _, dup := r.byName[fn.Name]; dup {
		return fmt.Errorf("devhost: function %s is defined twice", fn.Name)
	}
	r.byName[fn.Name] = fn
	r.fns = append(r.fns, fn)
	switch fn.Trigger {
	case ServiceBusTrigger:
		if other, dup := r.queues[fn.Queue]; dup {
			return fmt.Errorf("devhost: functions %s and %s both listen on queue %s", other.fn.Name, fn.Name, fn.Queue)
		}
		r.queues[fn.Queue] = newQueue(fn.Queue, fn)
	case TimerTrigger:
		if fn.schedule == nil {
			s, err := ParseSchedule(fn.Schedule)
			if err != nil {
				return fmt.Errorf("devhost: %s: %w", fn.Name, err)
			}
			fn.schedule = s
		}
		r.timers[fn.Name] = newTimer(fn, now)
	}
	return nil
}

// Functions lists the runner's functions, by name.
func (r *Runner) Functions() []Function { return append([]Function(nil), r.fns...) }

// Clock is the runner's clock.
func (r *Runner) Clock() MovableClock { return r.clock }

// Start serves handler (the custom handler) on ln, as the host runs the handler process on
// FUNCTIONS_CUSTOMHANDLER_PORT (nil ln: a free 127.0.0.1 port) with cmd/handler's timeouts,
// waits until it answers GET / (as the host does before its first invocation), and starts
// message delivery and the timers. Close stops them and closes ln.
func (r *Runner) Start(ctx context.Context, handler http.Handler, ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("devhost: listen for the handler: %w", err)
		}
	}
	srv := NewServer(handler)
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		ln.Close()
		return errors.New("devhost: runner already started")
	}
	r.started = true
	r.srv = srv
	r.target = "http://" + ln.Addr().String()
	transport := &http.Transport{DisableCompression: true}
	r.client = &http.Client{Transport: transport}
	r.forwarder = &http.Client{Transport: transport, CheckRedirect: noRedirects}
	r.proxy = r.newProxy(&url.URL{Scheme: "http", Host: ln.Addr().String()}, transport)
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.mu.Unlock()

	r.served = make(chan struct{})
	go func() {
		defer close(r.served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("devhost: handler server stopped", logs.Err(err))
		}
	}()
	if err := r.waitReady(r.ctx); err != nil {
		r.log.Warn("devhost: the handler did not answer GET /", logs.Err(err))
	}
	for _, q := range r.queues {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.deliver(q) }()
	}
	for _, t := range r.timers {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.runTimer(t) }()
	}
	if !r.opts.ManualTimers {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.schedule() }()
	}
	return nil
}

// Close stops delivery and timers, waits for invocations in flight, and stops the handler's
// server. Undelivered messages are dropped with the runner.
func (r *Runner) Close() error {
	r.mu.Lock()
	if !r.started || r.cancel == nil {
		r.mu.Unlock()
		return nil
	}
	cancel, srv := r.cancel, r.srv
	r.cancel = nil
	r.mu.Unlock()
	cancel()
	r.wg.Wait()
	r.client.CloseIdleConnections()
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err := srv.Shutdown(ctx)
	<-r.served
	return err
}

// errInvocation is a failed invocation: a transport error, a non-2xx answer, or a reply
// that is not the host protocol's JSON.
var errInvocation = errors.New("invocation failed")

// NewInvocation returns the host's POST of an envelope (MessageEnvelope, TimerEnvelope) to fn on
// the handler at base (http://127.0.0.1:port): chunked JSON with the host's headers, a fresh
// invocation ID and trace context (host Workers/HttpScriptInvocationContextExtensions.cs,
// Workers/Http/DefaultHttpWorkerService.cs AddHeaders). The runner sends it; so do tests that play
// the host in front of several handler processes.
func NewInvocation(ctx context.Context, base string, fn Function, envelope []byte) (*http.Request, error) {
	// An io.Reader of unknown length makes the transfer chunked, as the host sends it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+fn.Name, io.MultiReader(bytes.NewReader(envelope)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(headerInvocationID, newID())
	req.Header.Set(headerHostVersion, HostVersion)
	req.Header.Set("traceparent", traceparent())
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// invoke POSTs env to the handler's /{Function} as the host does and returns its reply.
func (r *Runner) invoke(ctx context.Context, fn Function, env envelope) (reply, error) {
	body, err := hostJSON(env)
	if err != nil {
		return reply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // host.json functionTimeout
	defer cancel()
	req, err := NewInvocation(ctx, r.target, fn, body)
	if err != nil {
		return reply{}, err
	}
	id := req.Header.Get(headerInvocationID)
	res, err := r.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%w: %s: %v", errInvocation, fn.Name, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return reply{}, fmt.Errorf("%w: %s: reading the reply: %v", errInvocation, fn.Name, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return reply{}, fmt.Errorf("%w: %s answered %d", errInvocation, fn.Name, res.StatusCode)
	}
	var rep reply
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return reply{}, fmt.Errorf("%w: %s answered %d with an empty body (the real host would wait until functionTimeout)", errInvocation, fn.Name, res.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" && mt != "text/json" {
		return reply{}, fmt.Errorf("%w: %s answered Content-Type %q; the host reads only application/json or text/json", errInvocation, fn.Name, res.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return reply{}, fmt.Errorf("%w: %s answered a body that is not the host protocol's JSON", errInvocation, fn.Name)
	}
	if !r.opts.HandlerLogsHere {
		for _, line := range rep.Logs {
			r.log.Info(line, "function", fn.Name, "invocationId", id)
		}
	}
	return rep, nil
}

// NewServer is the http.Server the runner serves the handler with, and cmd/devhost its own
// endpoints with: the handler's timeouts (cmd/handler, invoke.ReadTimeout and the others).
func NewServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: invoke.ReadHeaderTimeout, ReadTimeout: invoke.ReadTimeout,
		WriteTimeout: invoke.WriteTimeout, IdleTimeout: invoke.IdleTimeout}
}

// waitReady sends GET / every 25 ms until the handler answers anything, as the host does at start
// (host Workers/Http/DefaultHttpWorkerService.cs IsWorkerReady), for at most 30 seconds.
func (r *Runner) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.target+"/", nil)
		res, err := r.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// traceparent returns a fresh W3C trace context header value.
func traceparent() string {
	id := strings.ReplaceAll(newID()+newID(), "-", "")
	return "00-" + id[:32] + "-" + id[32:48] + "-01"
}
