package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/invoke"
)

func noEnv(string) string { return "" }

func TestRunRefusesWhatItCannotServe(t *testing.T) {
	empty := t.TempDir()
	noFunctions := t.TempDir()
	if err := os.WriteFile(filepath.Join(noFunctions, "host.json"), []byte(`{"version":"2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-root", empty}, "host.json"},
		{[]string{"-root", noFunctions}, "function.json"},
		{[]string{"-storage", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=secret-key-value"}, ""},
		{[]string{"-no-such-flag"}, "no-such-flag"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // whatever starts stops at once
	for _, c := range cases {
		var out strings.Builder
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, c.args...), &out, io.Discard, noEnv)
		if c.want == "" {
			// A storage connection string is accepted or refused, but never echoed.
			if (err != nil && strings.Contains(err.Error(), "secret-key-value")) || strings.Contains(out.String(), "secret-key-value") {
				t.Errorf("run(%v) leaks the account key: %v\n%s", c.args, err, out.String())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%v) = %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

// The runner takes RegistrarStorage from the environment when -storage is not given.
func TestRunStorageFromTheEnvironment(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "memory"},
		{map[string]string{"RegistrarStorage": "UseDevelopmentStorage=true"}, "Azurite"},
		{map[string]string{"RegistrarStorage__tableServiceUri": "https://acct.table.core.windows.net"}, "Table Storage https://acct.table.core.windows.net"},
	} {
		var out strings.Builder
		err := run(ctx, []string{"-addr", "127.0.0.1:0"}, &out, io.Discard, func(k string) string { return c.env[k] })
		if err != nil || !strings.Contains(out.String(), c.want) {
			t.Errorf("env %v: %v, banner %q; want storage %q", c.env, err, out.String(), c.want)
		}
	}
}

// The runner warns on start when -addr lets other machines connect.
func TestRunWarnsWhenNotLoopback(t *testing.T) {
	for addr, warn := range map[string]bool{
		"127.0.0.1:7071": false, "localhost:7071": false, "[::1]:0": false,
		"0.0.0.0:7071": true, ":7071": true, "192.168.1.20:7071": true, "myhost:7071": true,
	} {
		if w := addrWarning(addr); (w != "") != warn || (warn && !strings.Contains(w, "loopback")) {
			t.Errorf("addrWarning(%q) = %q, want a warning: %v", addr, w, warn)
		}
	}
}

// The runner's own server has the handler's timeouts, so a client that stalls its request is
// cut off (cmd/handler, docs/architecture.md).
func TestRunnerServerHasTheHandlersTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	got := []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout}
	want := []time.Duration{invoke.ReadHeaderTimeout, invoke.ReadTimeout, invoke.WriteTimeout, invoke.IdleTimeout}
	if !slices.Equal(got, want) || slices.Contains(got, 0) {
		t.Errorf("timeouts (read header, read, write, idle) %v, want the handler's %v", got, want)
	}
}
