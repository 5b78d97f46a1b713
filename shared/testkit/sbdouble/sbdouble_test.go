package sbdouble_test

import (
	"net"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

func TestStopAndRestartOnTheSamePort(t *testing.T) {
	d := sbdouble.StartDouble(t)
	conn := d.ConnString()
	if !strings.HasPrefix(conn, "Endpoint=sb://127.0.0.1:") || !strings.HasSuffix(conn, ";UseDevelopmentEmulator=true") {
		t.Fatalf("connection string %q", conn)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.Split(conn, ";")[0], "Endpoint=sb://"), "/")
	dial := func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("double not listening on %s: %v", addr, err)
	}
	d.Stop()
	if err := dial(); err == nil {
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
	d.Restart()
	if err := dial(); err != nil || d.ConnString() != conn {
		t.Fatalf("after Restart: %v, connection string %q (was %q)", err, d.ConnString(), conn)
	}
}
