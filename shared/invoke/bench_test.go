package invoke

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/benchtable"
)

// replay is one host request (POST /{function} with the host's headers) whose envelope is served
// again and again: the same *http.Request, its body rewound, answered into a writer that keeps
// only the status. Registrar and its floor are measured through the same replay, so the figures
// are the handlers' own cost.
type replay struct {
	env  []byte
	body *bytes.Reader
	req  *http.Request
	w    statusWriter
}

func newReplay(function string, env []byte) *replay {
	p := &replay{env: env, body: bytes.NewReader(env), w: statusWriter{header: http.Header{}}}
	p.req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:7072/"+function, io.NopCloser(p.body))
	p.req.RequestURI = "/" + function
	p.req.ContentLength = -1 // the host sends chunked envelopes
	for k, v := range map[string]string{"Content-Type": "application/json; charset=utf-8", HeaderInvocationID: "5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5",
		HeaderHostVersion: "4.1037.0.0", "User-Agent": "Azure-Functions-Host/4.1037.0.0",
		HeaderTraceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"} {
		p.req.Header.Set(k, v)
	}
	return p
}

// serve runs one invocation and returns the status answered.
func (p *replay) serve(h http.Handler) int {
	p.body.Reset(p.env)
	clear(p.w.header)
	p.w.status = 0
	h.ServeHTTP(&p.w, p.req)
	return p.w.status
}

type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.header }
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *statusWriter) Write(p []byte) (int, error) { w.WriteHeader(http.StatusOK); return len(p), nil }

// adminPage is what the benchmarks' Admin function answers.
const adminPage = `{"items":[{"clusterId":"6f1c0e52-3a8e-4a35-9a43-1b7f0a4c2d11"}]}`

func benchFunctions() Functions {
	return Functions{
		Queues: map[string]QueueHandler{"RegistrationRequests": func(context.Context, Message) (string, error) { return "created", nil }},
		Timers: map[string]TimerHandler{"OrphanSweep": func(context.Context, Timer) (string, error) { return "swept", nil }},
		HTTP: map[string]http.Handler{"Admin": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, adminPage)
		})},
	}
}

// BenchmarkAdapter measures the adapter's cost per envelope (decode, dispatch, reply, the log
// line as JSON and in the reply's Logs; the function itself answers at once) against its floor
// (floor_test.go) in the same run, and reports the targets of docs/performance.md: a Service Bus
// envelope the host encoded twice at ≤ 0.6× the floor's time and ≤ 0.5× its heap; a timer and
// an HTTP envelope at ≤ 1.0×.
func BenchmarkAdapter(b *testing.B) {
	fns := benchFunctions()
	// The per-invocation line is formatted as in production (JSON), then dropped.
	registrar := NewServer(fns, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	cases := []struct {
		name, figure, function, fixture string
		floor                           http.Handler
		time, heap                      benchtable.Target
	}{
		{"ServiceBus", "Service Bus envelope", "RegistrationRequests", "servicebus-double.json",
			floorQueue(fns.Queues["RegistrationRequests"]), benchtable.AtMost(0.6), benchtable.AtMost(0.5)},
		{"Timer", "timer envelope", "OrphanSweep", "timer.json",
			floorTimer(fns.Timers["OrphanSweep"]), benchtable.AtMost(1), benchtable.AtMost(1)},
		{"HTTP", "HTTP envelope (POST /Admin)", "Admin", "http.json",
			floorHTTP(fns.HTTP["Admin"]), benchtable.AtMost(1), benchtable.AtMost(1)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			reg, flo := newReplay(c.function, fixture(b, c.fixture)), newReplay(c.function, fixture(b, c.fixture))
			if s, f := reg.serve(registrar), flo.serve(c.floor); s != http.StatusOK || f != http.StatusOK {
				b.Fatalf("Registrar answered %d, the floor %d: want 200 from both", s, f)
			}
			r, f := benchtable.Interleave(b, 100, func() { reg.serve(registrar) }, func() { flo.serve(c.floor) })
			benchtable.Report(b, benchtable.Row{Figure: "Adapter, " + c.figure + ": time", Unit: "ns/op",
				Registrar: r.NsPerOp, Floor: f.NsPerOp, Target: c.time})
			benchtable.Report(b, benchtable.Row{Figure: "Adapter, " + c.figure + ": heap", Unit: "B/op",
				Registrar: r.BytesPerOp, Floor: f.BytesPerOp, Target: c.heap})
		})
	}
}
