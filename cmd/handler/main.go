// Command handler is Registrar's Azure Functions custom handler: the host starts it beside
// host.json and calls it over HTTP on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT (docs/architecture.md).
//
// Settings are read from the environment (README.md, Settings); invalid settings stop start-up with
// one message naming each bad setting and exit code 1. SIGTERM or SIGINT shut it down gracefully.
// Logs are JSON lines: below Warn on stdout, Warn and above on stderr (docs/operations.md); spans
// are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/azlocal/registrar/shared/app"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/logs"
	"github.com/azlocal/registrar/shared/telemetry"
)

// shutdownTimeout bounds the graceful shutdown; the server's own timeouts are invoke's.
const shutdownTimeout = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stdout, os.Stderr))
}

// run serves until ctx ends and returns the process exit code.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	log := slog.New(telemetry.ConsoleHandler(stdout, stderr))
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "registrar handler: cannot start:", err)
		return 1
	}
	tr, err := telemetry.New(ctx, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "registrar handler: cannot start:", err)
		return 1
	}
	defer closing(log, "tracing shutdown", slog.LevelWarn, tr.Shutdown) // after the app: it flushes the app's spans
	a, err := app.New(ctx, cfg, &app.Options{Logger: log, Tracing: tr, WrapPublisher: publisherHook(getenv)})
	if err != nil {
		fmt.Fprintln(stderr, "registrar handler: cannot start:", err)
		return 1
	}
	defer closing(log, "close", slog.LevelError, a.Close)

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		fmt.Fprintln(stderr, "registrar handler: cannot listen:", err)
		return 1
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: invoke.ReadHeaderTimeout,
		ReadTimeout:       invoke.ReadTimeout,
		WriteTimeout:      invoke.WriteTimeout,
		IdleTimeout:       invoke.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "storage", string(cfg.Storage.Kind), "serviceBus", cfg.ServiceBus.Configured())

	select {
	case err := <-served:
		log.Error("server stopped", logs.Err(err))
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutdown", logs.Err(err))
		return 1
	}
	log.Info("stopped")
	return 0
}

// closing runs close within shutdownTimeout and logs its error, if any, at level.
func closing(log *slog.Logger, what string, level slog.Level, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := close(ctx); err != nil {
		log.Log(ctx, level, what, logs.Err(err))
	}
}
