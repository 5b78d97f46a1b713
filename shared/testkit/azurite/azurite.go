// Package azurite starts Azurite's Table service (node_modules/.bin/azurite-table) for Go tests,
// on a free 127.0.0.1 port: in memory (Start), or on disk so that it can be stopped and started
// again without losing its tables (StartServer, for outage tests).
package azurite

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/store/devstorage"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

// Key is Azurite's published devstoreaccount1 key (public, not a secret).
const Key = devstorage.Key

// ConnString is the explicit connection string (docs/settings.md) of an Azurite Table endpoint on port.
func ConnString(port int) string { return devstorage.ConnString(port) }

// Start starts an empty in-memory Azurite Table service and returns its connection string; it
// is killed at test cleanup. A missing Azurite fails the test, it never skips.
func Start(t testing.TB) (connString string) {
	t.Helper()
	return startIn(t, repo.Root(t))
}

func startIn(t testing.TB, root string) string {
	t.Helper()
	s := newServer(t, root, false)
	s.Restart()
	return s.ConnString()
}

// Server is a running Azurite Table service. Stop and Restart make an outage on the same port;
// one started with ServerOptions.OnDisk loses nothing by it.
type Server struct {
	t       testing.TB
	bin     string
	dir     string // working directory: Azurite's debug, lock and (persistent) database files
	persist bool
	port    int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
}

// ServerOptions tune StartServer; nil means the defaults.
type ServerOptions struct {
	// OnDisk keeps the tables in a directory of the server's own, so Stop and Restart lose
	// nothing. Otherwise they are in memory (faster: on disk, Azurite rewrites its whole
	// database every 5 s) and a restart starts empty.
	OnDisk bool
}

// StartServer starts an empty Azurite Table service; it is killed at test cleanup. A missing
// Azurite fails the test, it never skips.
func StartServer(t testing.TB, o *ServerOptions) *Server {
	t.Helper()
	s := newServer(t, repo.Root(t), o != nil && o.OnDisk)
	s.Restart()
	return s
}

func newServer(t testing.TB, root string, persist bool) *Server {
	t.Helper()
	bin := filepath.Join(root, "node_modules", ".bin", "azurite-table")
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("azurite not installed: run npm ci (make test does)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("azurite: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, bin: bin, dir: t.TempDir(), persist: persist, port: port}
	t.Cleanup(s.kill)
	return s
}

// ConnString is the server's connection string; it stays the same across restarts.
func (s *Server) ConnString() string { return ConnString(s.port) }

// Port is the server's Table port; it stays the same across restarts.
func (s *Server) Port() int { return s.port }

// PID is the running process's ID (0 when stopped).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart starts the service (again, on the same port) and waits until it accepts connections.
// Starting a running server does nothing.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	args := []string{"--disableTelemetry", "--silent", "--tableHost", "127.0.0.1", "--tablePort", fmt.Sprint(s.port)}
	if s.persist {
		args = append(args, "--location", s.dir)
	} else {
		args = append(args, "--inMemoryPersistence")
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir // Azurite writes its debug/lock files into the working directory
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("azurite: start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)
	for {
		select {
		case err := <-exited:
			s.t.Fatalf("azurite: exited before accepting connections on %s: %v (run npm ci; or the port was taken)", addr, err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			s.cmd, s.exited = cmd, exited
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the service as an operator would (SIGINT: Azurite closes its database, writing it to
// disk) and waits for the process to end; after 20 s it is killed. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("azurite: did not stop within 20 s of SIGINT; killed (its last writes may be lost)")
	}
	s.cmd = nil
}

func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}
