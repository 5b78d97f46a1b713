// Package localrun starts the local runner in-process for tests: the project's functions and the
// whole app on the memory store, timers fired only on request (POST /admin/functions/{name}), a
// clock the test moves, and events kept by the runner (GET /dev/events). Everything it starts
// ends with the test.
package localrun

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/app"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/devhost"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

// Options tune Start; nil means the defaults.
type Options struct {
	// Roles are the local principal's app roles (default Registrar.Admin).
	Roles []string
	// RoleDefinitions is the RoleDefinitions setting (custom roles, JSON); "" for the built-ins.
	RoleDefinitions string
	// NoEasyAuth leaves WEBSITE_AUTH_ENABLED unset, so the Admin API refuses every caller (401).
	NoEasyAuth bool
	// Wrap, when set, wraps the app's handler, so a test can see each invocation.
	Wrap func(http.Handler) http.Handler
	// Clock, when set, is the runner's and the app's clock (default: the system time, movable).
	Clock devhost.MovableClock
	// HTTPMode, when set, is how the runner passes Admin requests (default: as host.json asks).
	HTTPMode devhost.HTTPMode
}

// Runner is a started local runner.
type Runner struct {
	// URL is the runner's base URL (http://127.0.0.1:port).
	URL string
	// Root is the project folder holding host.json and functions/.
	Root string
}

// settings are the app settings of a runner whose handler listens on port.
func (o *Options) settings(port int) map[string]string {
	s := map[string]string{
		config.EnvStorage:            "memory",
		config.EnvPort:               strconv.Itoa(port),
		config.EnvRegistrationQueue:  "registration-requests",
		config.EnvMachineEventsQueue: "machine-events",
		config.EnvEventsTopic:        "registration-events",
		config.EnvRoleDefinitions:    o.RoleDefinitions,
	}
	if !o.NoEasyAuth {
		s[config.EnvAuthEnabled] = "True" // the runner stands in for Easy Auth
	}
	return s
}

// Start runs the local runner and the app until the test ends; it fails the test when either
// cannot start.
func Start(t testing.TB, o *Options) *Runner {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	handlerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	settings := o.settings(handlerLn.Addr().(*net.TCPAddr).Port)
	env := func(k string) string { return settings[k] }
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	root := repo.Root(t)
	fns, err := devhost.LoadFunctions(root, env)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	rn, err := devhost.New(fns, &devhost.Options{Roles: o.Roles, ManualTimers: true, Logger: logger, RetryDelay: time.Millisecond,
		Clock: o.Clock, HTTPMode: o.HTTPMode})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, cfg, &app.Options{Clock: rn.Clock(), Publisher: rn, DeadLetters: rn, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = a.Handler
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	if err := rn.Start(ctx, h, handlerLn); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rn)
	t.Cleanup(func() {
		srv.Close()
		rn.Close()
		a.Close(context.Background())
	})
	return &Runner{URL: srv.URL, Root: root}
}
