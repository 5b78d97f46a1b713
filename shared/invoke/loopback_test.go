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
	loopbackRole     = "REGISTRAR_LOOPBACK_ROLE"   // "server" or "driver"
	loopbackServer   = "REGISTRAR_LOOPBACK_SERVER" // "registrar" or "floor"
	loopbackAddrs    = "REGISTRAR_LOOPBACK_ADDRS"  // the driver's targets: Registrar's, the floor's
	loopbackConns    = 4                           // the driver's connections, each one request at a time
	loopbackWarmUp   = 300 * time.Millisecond      // per server
	loopbackSlice    = 200 * time.Millisecond      // one measurement of one server
	loopbackSlices   = 40                          // alternating: 20 per server
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

// driveLoopback measures the two servers of loopbackAddrs alternately, loopbackSlice at a time
// (so the load of a shared machine weighs on both alike), each on loopbackConns connections
// waiting for each answer, and prints one line per slice: the server's index, the requests per
// second it answered 200 and their number. A warm-up's line has rate -1.
func driveLoopback() int {
	addrs := strings.Split(os.Getenv(loopbackAddrs), ",")
	env, err := os.ReadFile("testdata/" + loopbackFixture)
	if err != nil || len(addrs) != 2 {
		fmt.Fprintln(os.Stderr, "loopback driver:", err, addrs)
		return 1
	}
	for i, addr := range addrs {
		_, n, err := driveFor(addr, env, loopbackWarmUp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loopback driver: warm-up of", addr, err)
			return 1
		}
		fmt.Println(i, -1, n)
	}
	for i := range loopbackSlices {
		rate, n, err := driveFor(addrs[i%2], env, loopbackSlice)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loopback driver:", err)
			return 1
		}
		fmt.Println(i%2, rate, n)
	}
	return 0
}

// driveFor sends invocations to addr for d and returns the requests per second answered 200 and
// their number.
func driveFor(addr string, env []byte, d time.Duration) (float64, int64, error) {
	req := hostRequest(addr, env)
	var done atomic.Int64
	var failed atomic.Value
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range loopbackConns {
		wg.Go(func() {
			if err := invokeWhile(addr, req, func() bool { return time.Now().Before(deadline) }, &done); err != nil {
				failed.Store(err)
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return 0, 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), done.Load(), nil
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

// startLoopbackServer starts a server process on a listener of this process's choosing. stop
// ends it and returns the CPU time it used.
func startLoopbackServer(b *testing.B, which string) (addr string, stop func() time.Duration) {
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
	addr = ln.Addr().String()
	_ = f.Close()
	_ = ln.Close() // the child has its own copy
	stop = sync.OnceValue(func() time.Duration {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return cpuTime(cmd)
	})
	b.Cleanup(func() { stop() })
	return addr, stop
}

// cpuTime is the CPU time an ended process used.
func cpuTime(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// BenchmarkLoopback runs the driver against Registrar's server and the floor's, and reports the
// median requests per second of each over its slices and their ratio slice by slice
// (benchtable.PairedRatio; target: Registrar ≥ 0.9× the floor). Its ns/op is Registrar's time per
// request. It also logs the CPU time per request of each server
// and of the driver: a figure the machine's load moves less, and a check that the driver is not
// what limits the rates.
func BenchmarkLoopback(b *testing.B) {
	if _, err := exec.LookPath("taskset"); err != nil {
		b.Log("taskset not found: the processes are not pinned to cores")
	}
	regAddr, regStop := startLoopbackServer(b, "registrar")
	floAddr, floStop := startLoopbackServer(b, "floor")
	driver := pinned(b, 1, loopbackRole+"=driver", loopbackAddrs+"="+regAddr+","+floAddr)
	out, err := driver.Output()
	if err != nil {
		b.Fatalf("driver: %v", err)
	}
	var rates [2][]float64
	var served [2]int64
	for line := range strings.Lines(string(out)) {
		var side int
		var rate float64
		var n int64
		if _, err := fmt.Sscan(line, &side, &rate, &n); err != nil || side < 0 || side > 1 {
			b.Fatalf("driver printed %q", line)
		}
		served[side] += n
		if rate >= 0 {
			rates[side] = append(rates[side], rate)
		}
	}
	perRequest := func(cpu time.Duration, n int64) time.Duration { return cpu / time.Duration(max(n, 1)) }
	regCPU, floCPU := perRequest(regStop(), served[0]), perRequest(floStop(), served[1])
	r, f := benchtable.Median(rates[0]), benchtable.Median(rates[1])
	b.Logf("requests/s per slice: Registrar %.0f, floor %.0f", rates[0], rates[1])
	b.Logf("CPU per request: Registrar's server %v, the floor's %v, the driver %v", regCPU, floCPU,
		perRequest(cpuTime(driver), served[0]+served[1]))
	b.ReportMetric(1e9/r, "ns/op")
	b.ReportMetric(r, "req/s")
	b.ReportMetric(f, "floor-req/s")
	b.ReportMetric(float64(regCPU.Nanoseconds()), "cpu-ns/req")
	b.ReportMetric(float64(floCPU.Nanoseconds()), "floor-cpu-ns/req")
	benchtable.Report(b, benchtable.Row{Figure: "Loopback, Service Bus envelope (server and driver on separate cores)",
		Unit: "req/s", Registrar: r, Floor: f, Target: benchtable.AtLeast(0.9), Paired: benchtable.PairedRatio(rates[0], rates[1])})
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
