package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a free TCP port on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the binary with the memory store and waits for the first 200 on GET /. wait
// returns the process's exit status (it is reaped once, in the background).
func start(t testing.TB, bin string) (cmd *exec.Cmd, wait func() error, ready time.Duration) {
	t.Helper()
	port := freePort(t)
	cmd = exec.Command(bin)
	cmd.Env = []string{"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port), "RegistrarStorage=memory"}
	cmd.Stderr = os.Stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	wait = func() error { err := <-exited; exited <- err; return err }
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	client := &http.Client{Timeout: time.Second}
	// Poll until it answers or exits; a hang is left to go test's -timeout.
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, wait, time.Since(began)
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the handler exited before answering GET /: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
}

// vmRSS reads a process's resident set size in KiB from /proc.
func vmRSS(t testing.TB, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// The handler answers GET / on 127.0.0.1 and stops cleanly (exit 0) on SIGTERM.
func TestServesAndShutsDownOnSIGTERM(t *testing.T) {
	cmd, wait, _ := start(t, buildHandler(t))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// BenchmarkStartup measures process start → first 200 on GET /, and the RSS after start.
func BenchmarkStartup(b *testing.B) {
	bin := buildHandler(b)
	var total time.Duration
	var rss int
	for b.Loop() {
		cmd, wait, d := start(b, bin)
		total += d
		rss = max(rss, vmRSS(b, cmd.Process.Pid))
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = wait()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(rss)/1024, "MiB-RSS")
	b.ReportMetric(0, "ns/op")
}
