// Package cli is the operator command line `registrar` (docs/cli.md): it drives Registrar only
// through the Admin API (docs/admin-api.md) and, for register, the registration-requests queue.
//
// API answers are decoded for display into shared/domain's exported view types (decoding only;
// no behaviour of the domain is used); -o json prints the API's JSON as received.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/azlocal/registrar/shared/identity"
)

// DefaultEndpoint is the local runner's address.
const DefaultEndpoint = "http://127.0.0.1:7071"

// App is what the commands take from the process; tests fill it in. Zero fields mean the
// process defaults noted on each.
type App struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string // nil: os.Getenv
	Now            func() time.Time    // nil: time.Now; times are shown relative to it
	StdoutTerminal bool                // colour and progress redrawing only then
	StdinTerminal  bool                // destructive commands ask for confirmation only then
	StderrTerminal bool                // progress bars (bulk) only then
	// Credential issues bearer tokens when --scope is set; nil means DefaultAzureCredential.
	Credential azcore.TokenCredential
	HTTP       *http.Client  // nil: NewClient's default
	Poll       time.Duration // --wait poll interval; 0 means 1 s
	BuildInfo  *BuildInfo    // nil: read from the binary (registrar version)
}

// Main runs the command line on the process and returns its exit code.
func Main(ctx context.Context, args []string) int {
	return processApp(os.Stdin, os.Stdout, os.Stderr).Run(ctx, args)
}

// processApp is the App on the given process files: colour, redrawing and confirmation
// prompts only where they are terminals.
func processApp(stdin, stdout, stderr *os.File) *App {
	return &App{Stdout: stdout, Stderr: stderr, Stdin: stdin,
		StdoutTerminal: isTerminal(stdout), StdinTerminal: isTerminal(stdin), StderrTerminal: isTerminal(stderr)}
}

// isTerminal reports whether f is an interactive terminal (not merely a character device such
// as /dev/null).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Run runs one command line (args without the program name) and returns its exit code (docs/cli.md#exit-codes);
// errors are printed to Stderr with the problem's code and what to do.
func (a *App) Run(ctx context.Context, args []string) int {
	s := &session{App: a}
	root := s.root()
	root.SetArgs(args)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && !s.ran {
		var u *UsageError
		if !errors.As(err, &u) {
			err = &UsageError{Msg: err.Error()}
		}
	}
	if err != nil {
		fmt.Fprintln(a.Stderr, "error:", text(err.Error())) // it may quote the service or an argument
		if h := Hint(err); h != "" {
			fmt.Fprintln(a.Stderr, "what to do:", text(h))
		}
	}
	return ExitCode(err)
}

// session is one Run: the global flags and the client built from them.
type session struct {
	*App
	endpoint, scope, output string
	contextName             string // --context: the contexts-file entry to use
	ctxNamespace            string // the selected context's Service Bus namespace (register)
	noColor                 bool
	waitState               string // what a --wait loop last saw (for a TimeoutError)
	ran                     bool   // a command's RunE started: later errors are not usage errors
	client                  *Client
	st                      style
}

func (s *session) getenv(k string) string {
	if s.Getenv == nil {
		return os.Getenv(k)
	}
	return s.Getenv(k)
}

func (s *session) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *session) poll() time.Duration {
	if s.Poll <= 0 {
		return time.Second
	}
	return s.Poll
}

func (s *session) json() bool { return s.output == "json" }

// checkOutput validates -o.
func (s *session) checkOutput() error {
	if s.output != "table" && s.output != "json" {
		return usagef("-o must be table or json, not %q", s.output)
	}
	return nil
}

// setup validates the global flags and builds the client. Each setting comes from its flag, else
// its environment variable, else the selected context, else the default.
func (s *session) setup() error {
	if err := s.checkOutput(); err != nil {
		return err
	}
	if err := s.applyContext(); err != nil {
		return err
	}
	if s.endpoint == "" {
		s.endpoint = s.getenv("REGISTRAR_ENDPOINT")
	}
	if s.endpoint == "" {
		s.endpoint = DefaultEndpoint
	}
	if s.scope == "" {
		s.scope = s.getenv("REGISTRAR_SCOPE")
	}
	s.st = style{color: s.StdoutTerminal && !s.noColor && s.getenv("NO_COLOR") == ""}
	opts := &ClientOptions{HTTP: s.HTTP, Scope: s.scope, Credential: s.Credential}
	if s.scope != "" && opts.Credential == nil {
		cred, err := identity.Credential("")
		if err != nil {
			return &AuthError{Err: err}
		}
		opts.Credential = cred
	}
	c, err := NewClient(s.endpoint, opts)
	s.client = c
	return err
}

// run wraps a command body: global setup first, then the body; errors from here on are the
// command's, not usage errors (unless the body says so).
func (s *session) run(body func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := s.setup(); err != nil {
			return err
		}
		s.ran = true
		return body(cmd.Context(), args)
	}
}

// printRaw writes an API answer as it came (for -o json): the same JSON, its non-printable
// characters written as JSON escapes (jsonText).
func (s *session) printRaw(b []byte) {
	s.Stdout.Write(jsonText(b))
	if len(b) == 0 || b[len(b)-1] != '\n' {
		fmt.Fprintln(s.Stdout)
	}
}

// printJSON writes v as indented JSON (for -o json of the command line's own answers).
func (s *session) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	s.printRaw(b)
	return nil
}

// printItems writes the merged items of every page as one {"items":[...]} (for -o json).
func (s *session) printItems(items []json.RawMessage) error {
	if items == nil {
		items = []json.RawMessage{}
	}
	b, err := json.Marshal(struct {
		Items []json.RawMessage `json:"items"`
	}{items})
	if err != nil {
		return err
	}
	s.printRaw(b)
	return nil
}

// show prints the API answer b: with -o json as it came (printRaw), else decoded into a T (decode)
// and handed to human, whose error it returns. With -o json the answer is not read.
func show[T any](s *session, b []byte, human func(T) error) error {
	if s.json() {
		s.printRaw(b)
		return nil
	}
	var v T
	if err := decode(b, &v); err != nil {
		return err
	}
	return human(v)
}

// decode unmarshals an API answer, its strings made safe to print (sanitize); a malformed answer
// is the service's failure.
func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("BadAnswer: the service answered JSON this command cannot read: %w", err)
	}
	sanitize(v)
	return nil
}

// nArgs requires exactly n positional arguments, as a usage error.
func nArgs(n int, names string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s", names)
		}
		return nil
	}
}
