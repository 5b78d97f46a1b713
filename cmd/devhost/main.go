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
	"github.com/azlocal/registrar/shared/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
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

// flags are the runner's command-line settings.
type flags struct {
	addr, root, storage, roles, principal, httpMode string
	timers                                          bool
}

// parseFlags reads args; RegistrarStorage from the environment is -storage's default.
func parseFlags(args []string, getenv func(string) string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("devhost", flag.ContinueOnError)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:7071", "address to serve on (loopback by default)")
	fs.StringVar(&f.root, "root", "", "folder holding host.json and functions/ (default: found by walking up from the working directory)")
	defStorage := getenv(config.EnvStorage) // the environment's, else memory (unless identity-based)
	if defStorage == "" && getenv(config.EnvStorageServiceURI) == "" {
		defStorage = "memory"
	}
	fs.StringVar(&f.storage, "storage", defStorage, "RegistrarStorage: memory, UseDevelopmentStorage=true (Azurite) or a connection string (default: RegistrarStorage from the environment, else memory)")
	fs.StringVar(&f.roles, "roles", "Registrar.Admin", "comma-separated app roles of the local principal")
	fs.StringVar(&f.principal, "principal", "local-operator", "name of the local principal")
	fs.BoolVar(&f.timers, "timers", true, "fire timers on their schedules and when the clock moves (false: only on POST /admin/functions/{name})")
	fs.StringVar(&f.httpMode, "http", "", "how HTTP requests reach the Admin function: proxy, forward or envelope, as a host that proxies, only forwards, or does neither (default: as host.json asks)")
	return f, fs.Parse(args)
}

// run starts the runner and serves until ctx ends. It writes what it serves to out and its
// log (the runner's and the app's records, each once) to logs. Spans are exported over OTLP
// when OTEL_EXPORTER_OTLP_ENDPOINT is set, as by cmd/handler (docs/operations.md).
func run(ctx context.Context, args []string, out, logs io.Writer, getenv func(string) string) error {
	f, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	if w := addrWarning(f.addr); w != "" {
		logger.Warn(w)
		fmt.Fprintln(out, "devhost: warning:", w)
	}
	handlerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the handler: %w", err)
	}
	defer handlerLn.Close()
	env := appEnv(f, handlerLn, getenv)
	cfg, err := config.Load(env)
	if err != nil {
		return err
	}
	tr, err := telemetry.New(ctx, env)
	if err != nil {
		return err
	}
	defer func() { // after the app has closed: it flushes the app's spans
		if err := tr.Shutdown(context.WithoutCancel(ctx)); err != nil {
			logger.Warn("tracing shutdown", "error", err.Error())
		}
	}()
	runner, opts, bus, err := newRunner(f, env, cfg, logger)
	if err != nil {
		return err
	}
	appOpts := &app.Options{Clock: runner.Clock(), Logger: logger, Tracing: tr}
	if !cfg.ServiceBus.Configured() {
		appOpts.Publisher, appOpts.DeadLetters = runner, runner
	}
	a, err := app.New(ctx, cfg, appOpts)
	if err != nil {
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))
	return serve(ctx, f.addr, runner, a.Handler, handlerLn, func(base string) {
		banner(out, base, runner.Functions(), storageName(cfg), bus, opts)
	}, out)
}

// appEnv is the app's environment: the runner stands in for Easy Auth, -storage and the
// handler's port replace the environment's, and the queue and topic names have defaults.
func appEnv(f flags, handlerLn net.Listener, getenv func(string) string) func(string) string {
	return func(k string) string {
		switch k {
		case config.EnvAuthEnabled:
			return "True" // the runner stands in for Easy Auth
		case config.EnvStorage:
			return f.storage
		case config.EnvPort:
			return strconv.Itoa(handlerLn.Addr().(*net.TCPAddr).Port)
		}
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}
}

// newRunner loads the function app (-root, else found from the working directory) and builds
// the runner; bus says where events go.
func newRunner(f flags, env func(string) string, cfg config.Config, logger *slog.Logger) (*devhost.Runner, *devhost.Options, string, error) {
	dir := f.root
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, "", err
		}
		if dir, err = devhost.FindRoot(wd); err != nil {
			return nil, nil, "", err
		}
	}
	fns, err := devhost.LoadFunctions(dir, env)
	if err != nil {
		return nil, nil, "", err
	}
	// The app runs in this process and logs to the same logger: each record is printed once.
	opts := &devhost.Options{Principal: f.principal, ManualTimers: !f.timers, Logger: logger,
		HTTPMode: devhost.HTTPMode(f.httpMode), HandlerLogsHere: true}
	for _, r := range strings.Split(f.roles, ",") {
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
	return runner, opts, bus, err
}

// serve starts the runner around handler (served on handlerLn), listens on addr, calls
// started with the runner's base URL, and serves until ctx ends.
func serve(ctx context.Context, addr string, runner *devhost.Runner, handler http.Handler, handlerLn net.Listener, started func(base string), out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := runner.Start(ctx, handler, handlerLn); err != nil {
		ln.Close()
		return err
	}
	defer runner.Close()
	started("http://" + ln.Addr().String())

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
