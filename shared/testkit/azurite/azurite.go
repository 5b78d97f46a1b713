// Package azurite starts Azurite's Table service (node_modules/.bin/azurite-table) for Go tests,
// in memory, on a free 127.0.0.1 port.
package azurite

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Key is Azurite's published devstoreaccount1 key (public, not a secret).
const Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// ConnString is the explicit connection string (SPEC §12) of an Azurite Table endpoint on port.
func ConnString(port int) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;TableEndpoint=http://127.0.0.1:%d/devstoreaccount1;", Key, port)
}

// Start starts an empty in-memory Azurite Table service and returns its connection string; it
// is killed at test cleanup. A missing Azurite fails the test, it never skips.
func Start(t testing.TB) (connString string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("azurite: %v", err)
	}
	return startIn(t, root)
}

func startIn(t testing.TB, root string) string {
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
	cmd := exec.Command(bin, "--inMemoryPersistence", "--disableTelemetry", "--silent",
		"--tableHost", "127.0.0.1", "--tablePort", fmt.Sprint(port))
	cmd.Dir = t.TempDir() // Azurite writes its debug/lock files into the working directory
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("azurite: start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("azurite: exited before accepting connections: %v (run npm ci)", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return ConnString(port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
