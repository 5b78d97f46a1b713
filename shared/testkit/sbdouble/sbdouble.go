// Package sbdouble starts the project's Service Bus AMQP 1.0 test double
// (test/servicebus-double, Node + rhea) for Go tests, on a free 127.0.0.1 port.
package sbdouble

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

// Double is a running test double. Stop and Restart simulate an outage on the same port.
type Double struct {
	t    testing.TB
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// Start starts the double and returns its connection string; it stops at test cleanup.
func Start(t testing.TB) (connString string) {
	return StartDouble(t).ConnString()
}

// StartDouble starts the double and returns it; it stops at test cleanup. A missing Node or
// node_modules/rhea fails the test (it never skips).
func StartDouble(t testing.TB) *Double {
	t.Helper()
	return startIn(t, repo.Root(t))
}

func startIn(t testing.TB, root string) *Double {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "node_modules", "rhea", "package.json")); err != nil {
		t.Fatalf("sbdouble: node_modules/rhea is missing: run `npm ci` in %s", root)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("sbdouble: node is not on PATH: install Node 20 and run `npm ci`")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sbdouble: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d := &Double{t: t, port: port, dir: root}
	d.Restart()
	t.Cleanup(d.Stop)
	return d
}

// ConnString is the double's Service Bus connection string (docs/settings.md).
func (d *Double) ConnString() string {
	return fmt.Sprintf("Endpoint=sb://127.0.0.1:%d;SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true", d.port)
}

// Stop kills the double; its messages are lost. Stopping a stopped double does nothing.
func (d *Double) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.cmd = nil
}

// Restart starts the double again on the same port (empty) and waits for its ready line.
func (d *Double) Restart() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return
	}
	cmd := exec.Command("node", filepath.Join(d.dir, "test", "servicebus-double", "server.js"), fmt.Sprint(d.port))
	cmd.Dir = d.dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		d.t.Fatalf("sbdouble: %v", err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("sbdouble: start node: %v", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "servicebus-double ready") {
			go func() {
				for sc.Scan() {
				}
			}()
			d.cmd = cmd
			return
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	d.t.Fatalf("sbdouble: the double exited before it was ready (see stderr); run `npm ci` in %s", d.dir)
}
