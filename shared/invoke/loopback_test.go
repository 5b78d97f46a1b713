package invoke

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/testkit/benchtable"
)

// The loopback figure (docs/performance.md): requests per second that Registrar's handler serves
// over a real TCP connection, against a minimal net/http custom handler (floorQueue) given the
// same envelope, the host's way (chunked POST, its headers). Each server is this test binary
// started again in a process of its own, pinned to core 0 with GOMAXPROCS=1; the load driver is
// another such process pinned to core 1. TestMain dispatches on loopbackRole.
const (
	loopbackRole     = "REGISTRAR_LOOPBACK_ROLE"     // "server" or "driver"
	loopbackServer   = "REGISTRAR_LOOPBACK_SERVER"   // "registrar" or "floor"
	loopbackAddr     = "REGISTRAR_LOOPBACK_ADDR"     // the driver's target
	loopbackDuration = "REGISTRAR_LOOPBACK_DURATION" // the driver's measured time
	loopbackConns    = 4                             // the driver's connections, each one request at a time
	loopbackWarmUp   = 300 * time.Millisecond
	loopbackFixture  = "servicebus-double.json"
	loopbackFunction = "RegistrationRequests"
)

func TestMain(m *testing.M) {
	switch os.Getenv(loopbackRole) {
	case "server":
		os.Exit(serveLoopback(os.Getenv(loopbackServer)))
	case "driver":
		os.Exit(driveLoopback())
	}
	os.Exit(m.Run())
}

// serveLoopback serves on the listener passed as file descriptor 3 until killed: Registrar as
// cmd/handler serves it (invoke's server timeouts, a JSON log line per invocation on stdout), or
// the floor with net/http's defaults.
func serveLoopback(which string) int {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "loopback server:", err)
		return 1
	}
	fns := benchFunctions()
	srv := &http.Server{Handler: floorQueue(fns.Queues[loopbackFunction])}
	if which == "registrar" {
		srv = &http.Server{
			Handler:           NewServer(fns, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(os.Stdout, nil))}),
			ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout,
		}
	}
	err = srv.Serve(ln)
	fmt.Fprintln(os.Stderr, "loopback server:", err)
	return 1
}

// hostRequest is the bytes of one invocation as the host sends it.
func hostRequest(addr string, env []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Azure-Functions-Host/4.1037.0.0\r\n", loopbackFunction, addr)
	b.WriteString("Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n")
	b.WriteString(HeaderInvocationID + ": 5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5\r\n" + HeaderHostVersion + ": 4.1037.0.0\r\n")
	b.WriteString(HeaderTraceparent + ": 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n")
	fmt.Fprintf(&b, "%x\r\n%s\r\n0\r\n\r\n", len(env), env)
	return b.Bytes()
}

// driveLoopback sends invocations on loopbackConns connections, each waiting for its answer, and
// prints the requests per second answered 200 after a warm-up.
func driveLoopback() int {
	addr := os.Getenv(loopbackAddr)
	d, err := time.ParseDuration(os.Getenv(loopbackDuration))
	env, rerr := os.ReadFile("testdata/" + loopbackFixture)
	if err != nil || rerr != nil {
		fmt.Fprintln(os.Stderr, "loopback driver:", err, rerr)
		return 1
	}
	req := hostRequest(addr, env)
	var done atomic.Int64
	var stop atomic.Bool
	var failed atomic.Value
	var wg sync.WaitGroup
	for range loopbackConns {
		wg.Go(func() {
			if err := invokeWhile(addr, req, func() bool { return !stop.Load() }, &done); err != nil {
				failed.Store(err)
			}
		})
	}
	time.Sleep(loopbackWarmUp)
	n0, t0 := done.Load(), time.Now()
	time.Sleep(d)
	n1, t1 := done.Load(), time.Now()
	stop.Store(true)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		fmt.Fprintln(os.Stderr, "loopback driver:", err)
		return 1
	}
	fmt.Println(float64(n1-n0) / t1.Sub(t0).Seconds())
	return 0
}

// invokeWhile sends req on one connection again and again while more(), counting 200 answers.
func invokeWhile(addr string, req []byte, more func() bool, done *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 16<<10)
	for more() {
		if _, err := conn.Write(req); err != nil {
			return err
		}
		if err := readAnswer(br); err != nil {
			return err
		}
		done.Add(1)
	}
	return nil
}

// readAnswer reads one response with a Content-Length and checks it is a 200.
func readAnswer(br *bufio.Reader) error {
	status, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("answer %q", strings.TrimSpace(string(status)))
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return errors.New("answer without Content-Length")
	}
	_, err = br.Discard(length)
	return err
}

// pinned returns the command that runs this test binary with role on core (taskset), with
// GOMAXPROCS=1; unpinned when taskset is missing.
func pinned(b *testing.B, core int, env ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	if ts, err := exec.LookPath("taskset"); err == nil {
		cmd = exec.Command(ts, "-c", strconv.Itoa(core), self, "-test.run=^$")
	}
	cmd.Env = append(os.Environ(), append([]string{"GOMAXPROCS=1"}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// startLoopbackServer starts a server process on a listener of this process's choosing.
func startLoopbackServer(b *testing.B, which string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		b.Fatal(err)
	}
	cmd := pinned(b, 0, loopbackRole+"=server", loopbackServer+"="+which)
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = f.Close()
	_ = ln.Close() // the child has its own copy
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return addr
}

// drive runs the driver against addr for d and returns the requests per second it measured.
func drive(b *testing.B, addr string, d time.Duration) float64 {
	cmd := pinned(b, 1, loopbackRole+"=driver", loopbackAddr+"="+addr, loopbackDuration+"="+d.String())
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("driver against %s: %v", addr, err)
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		b.Fatalf("driver printed %q", out)
	}
	return rate
}

// BenchmarkLoopback alternates the driver between Registrar's server and the floor's, rounds
// times, and reports the median requests per second of each (target: Registrar ≥ 0.9× the
// floor). Its ns/op is Registrar's time per request.
func BenchmarkLoopback(b *testing.B) {
	if _, err := exec.LookPath("taskset"); err != nil {
		b.Log("taskset not found: the processes are not pinned to cores")
	}
	registrar, floor := startLoopbackServer(b, "registrar"), startLoopbackServer(b, "floor")
	const rounds, d = 5, time.Second
	var reg, flo []float64
	for range rounds {
		reg = append(reg, drive(b, registrar, d))
		flo = append(flo, drive(b, floor, d))
	}
	r, f := benchtable.Median(reg), benchtable.Median(flo)
	b.ReportMetric(1e9/r, "ns/op")
	b.ReportMetric(r, "req/s")
	b.ReportMetric(f, "floor-req/s")
	benchtable.Report(b, benchtable.Row{Figure: "Loopback, Service Bus envelope (server and driver on separate cores)",
		Unit: "req/s", Registrar: r, Floor: f, Target: benchtable.AtLeast(0.9)})
}

// The loopback driver sends what the host sends (a chunked POST of the envelope with the host's
// headers) and counts only 200 answers: Registrar's server answers its request so.
func TestLoopbackDriverSpeaksLikeTheHost(t *testing.T) {
	env := fixture(t, loopbackFixture)
	srv := &http.Server{Handler: NewServer(benchFunctions(), &ServerOptions{Logger: slog.New(slog.DiscardHandler)})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	req := hostRequest(ln.Addr().String(), env)

	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	if err != nil {
		t.Fatalf("the driver's request does not parse: %v", err)
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/"+loopbackFunction || len(r.TransferEncoding) != 1 ||
		r.TransferEncoding[0] != "chunked" || r.ContentLength != -1 || !bytes.Equal(body, env) {
		t.Fatalf("request %s %s %v length %d, body equal %v: want a chunked POST of the envelope",
			r.Method, r.URL.Path, r.TransferEncoding, r.ContentLength, bytes.Equal(body, env))
	}

	var done atomic.Int64
	if err := invokeWhile(ln.Addr().String(), req, func() bool { return done.Load() < 3 }, &done); err != nil {
		t.Fatalf("driver: %v", err)
	}
	if got := done.Load(); got != 3 {
		t.Errorf("%d answers counted, want 3", got)
	}
	if err := readAnswer(bufio.NewReader(strings.NewReader("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"))); err == nil {
		t.Error("a 500 answer was counted")
	}
}
