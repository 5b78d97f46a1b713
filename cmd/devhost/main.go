// Command devhost is Registrar's local runner (README.md, Local runner): it serves the function
// app in-process and plays the Azure Functions host's part with no Azure, driven by the project's
// host.json and functions/*/function.json files. See shared/devhost.
//
// Usage:
//
//	devhost [-addr 127.0.0.1:7071] [-root DIR] [-storage memory|UseDevelopmentStorage=true|<connection string>]
//	        [-roles Registrar.Admin] [-principal local-operator] [-timers=true] [-http proxy|forward|envelope]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/azlocal/registrar/shared/app"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/devhost"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "devhost:", err)
		}
		os.Exit(1)
	}
}

// defaults are the settings every place the app runs sets (local.settings.sample.json), used
// when the environment has none.
var defaults = map[string]string{
	config.EnvRegistrationQueue:  "registration-requests",
	config.EnvMachineEventsQueue: "machine-events",
	config.EnvEventsTopic:        "registration-events",
}

// run starts the runner and serves until ctx ends. It writes what it serves to out.
func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("devhost", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7071", "address to serve on (loopback by default)")
	root := fs.String("root", "", "folder holding host.json and functions/ (default: found by walking up from the working directory)")
	defStorage := getenv(config.EnvStorage) // the environment's, else memory (unless identity-based)
	if defStorage == "" && getenv(config.EnvStorageServiceURI) == "" {
		defStorage = "memory"
	}
	storage := fs.String("storage", defStorage, "RegistrarStorage: memory, UseDevelopmentStorage=true (Azurite) or a connection string (default: RegistrarStorage from the environment, else memory)")
	roles := fs.String("roles", "Registrar.Admin", "comma-separated app roles of the local principal")
	principal := fs.String("principal", "local-operator", "name of the local principal")
	timers := fs.Bool("timers", true, "fire timers on their schedules and when the clock moves (false: only on POST /admin/functions/{name})")
	httpMode := fs.String("http", "", "how HTTP requests reach the Admin function: proxy, forward or envelope, as a host that proxies, only forwards, or does neither (default: as host.json asks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if w := addrWarning(*addr); w != "" {
		logger.Warn(w)
		fmt.Fprintln(out, "devhost: warning:", w)
	}

	handlerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the handler: %w", err)
	}
	defer handlerLn.Close()
	env := func(k string) string {
		switch k {
		case config.EnvAuthEnabled:
			return "True" // the runner stands in for Easy Auth
		case config.EnvStorage:
			return *storage
		case config.EnvPort:
			return strconv.Itoa(handlerLn.Addr().(*net.TCPAddr).Port)
		}
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}
	cfg, err := config.Load(env)
	if err != nil {
		return err
	}
	dir := *root
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if dir, err = devhost.FindRoot(wd); err != nil {
			return err
		}
	}
	fns, err := devhost.LoadFunctions(dir, env)
	if err != nil {
		return err
	}
	opts := &devhost.Options{Principal: *principal, ManualTimers: !*timers, Logger: logger, HTTPMode: devhost.HTTPMode(*httpMode)}
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			opts.Roles = append(opts.Roles, r)
		}
	}
	bus := "in-memory queues and topic (GET /dev/events)"
	if cfg.ServiceBus.Configured() {
		opts.EventsElsewhere = "the Service Bus topic " + cfg.EventsTopic
		bus = "events to the configured Service Bus topic " + cfg.EventsTopic + "; queues in memory (POST /dev/servicebus)"
	}
	runner, err := devhost.New(fns, opts)
	if err != nil {
		return err
	}
	appOpts := &app.Options{Clock: runner.Clock(), Logger: logger}
	if !cfg.ServiceBus.Configured() {
		appOpts.Publisher, appOpts.DeadLetters = runner, runner
	}
	a, err := app.New(ctx, cfg, appOpts)
	if err != nil {
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if err := runner.Start(ctx, a.Handler, handlerLn); err != nil {
		ln.Close()
		return err
	}
	defer runner.Close()
	banner(out, "http://"+ln.Addr().String(), runner.Functions(), storageName(cfg), bus, opts)

	srv := newServer(runner)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	fmt.Fprintln(out, "devhost: stopped")
	return nil
}

// newServer is the runner's own server: the handler's timeouts (read, write, idle), so a slow
// client cannot hold a connection open.
func newServer(runner http.Handler) *http.Server { return devhost.NewServer(runner) }

// addrWarning says why an -addr that is not a loopback address is risky ("" when it is one):
// the runner gives requests without a principal an Admin principal.
func addrWarning(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if devhost.IsLoopbackHost(host) {
		return ""
	}
	return fmt.Sprintf("-addr %s is not a loopback address: other machines can connect, but the runner answers only "+
		"requests addressed to a loopback host (403 otherwise): requests without a principal act as its local principal", addr)
}

// storageName names the store without any secret of a connection string.
func storageName(cfg config.Config) string {
	switch {
	case cfg.Storage.Kind == config.StorageMemory:
		return "memory (in-process; state is lost on exit)"
	case cfg.Storage.ConnectionString == config.DevelopmentStorage:
		return "Azurite (UseDevelopmentStorage=true)"
	case cfg.Storage.Kind == config.StorageServiceURI:
		return "Table Storage " + cfg.Storage.ServiceURI
	default:
		return "Table Storage (connection string)"
	}
}

// banner prints what the runner serves.
func banner(w io.Writer, base string, fns []devhost.Function, store, bus string, o *devhost.Options) {
	fmt.Fprintf(w, "devhost: serving Registrar on %s\n", base)
	fmt.Fprintln(w, "functions:")
	for _, f := range fns {
		fmt.Fprintf(w, "  %-22s %s\n", f.Name, f.Describe())
	}
	timers := "on their schedules and when the clock moves"
	if o.ManualTimers {
		timers = "only on request"
	}
	fmt.Fprintf(w, "store:  %s\nbus:    %s\ntimers: %s\nauth:   requests without X-MS-CLIENT-PRINCIPAL act as %s (%s), from this machine only\n",
		store, bus, timers, o.Principal, strings.Join(o.Roles, ", "))
	fmt.Fprintf(w, "try:    curl %s/api/v1/clusters\n", base)
	fmt.Fprintf(w, "        curl -X POST %s/dev/servicebus/<queue>/messages -d @message.json\n", base)
	fmt.Fprintf(w, "        curl %s/dev/events    curl -X POST %s/dev/clock -d '{\"advance\":\"720h\"}'\n", base, base)
}
