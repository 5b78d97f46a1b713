package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/spf13/cobra"
)

// Config is the command line's contexts file, in the way of kubeconfig or `az account`: named
// endpoints (with their token scope and Service Bus namespace), one of them current, so
// --endpoint and --scope need not be retyped. A flag beats its environment variable, which beats
// the context, which beats the default.
type Config struct {
	CurrentContext string              `json:"currentContext,omitempty"`
	Contexts       map[string]*Context `json:"contexts,omitempty"`
}

// Context is one named Registrar deployment.
type Context struct {
	Endpoint  string `json:"endpoint,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Namespace string `json:"namespace,omitempty"` // Service Bus namespace for `register`
}

// configPath is REGISTRAR_CONFIG, else registrar/config.json under the user's configuration
// directory (XDG_CONFIG_HOME or ~/.config; %AppData% on Windows); "" when none can be found.
func (s *session) configPath() string {
	if p := s.getenv("REGISTRAR_CONFIG"); p != "" {
		return p
	}
	dir := s.getenv("XDG_CONFIG_HOME")
	switch {
	case dir != "":
	case runtime.GOOS == "windows":
		dir = s.getenv("AppData")
	case s.getenv("HOME") != "":
		dir = filepath.Join(s.getenv("HOME"), ".config")
	}
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "registrar", "config.json")
}

// loadConfig reads the contexts file; a missing file is an empty configuration.
func (s *session) loadConfig() (*Config, error) {
	cfg := &Config{Contexts: map[string]*Context{}}
	p := s.configPath()
	if p == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	} else if err != nil {
		return nil, usagef("cannot read the contexts file %s: %v", p, err)
	}
	if err := json.Unmarshal(b, cfg); err != nil {
		return nil, usagef("the contexts file %s is not valid JSON: %v", p, err)
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]*Context{}
	}
	return cfg, nil
}

// saveConfig writes the contexts file (0600: it names endpoints, never a token), atomically.
func (s *session) saveConfig(cfg *Config) error {
	p := s.configPath()
	if p == "" {
		return usagef("no place for the contexts file: set REGISTRAR_CONFIG or HOME")
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", filepath.Dir(p), err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp, err)
	}
	return os.Rename(tmp, p)
}

// applyContext fills the endpoint, scope and namespace not given by a flag or the environment
// from the selected context (--context, else the current one).
func (s *session) applyContext() error {
	cfg, err := s.loadConfig()
	if err != nil {
		return err
	}
	name := s.contextName
	if name == "" {
		name = cfg.CurrentContext
	}
	if name == "" {
		return nil
	}
	c, ok := cfg.Contexts[name]
	if !ok {
		return usagef("no context %q in %s (registrar config get-contexts lists them)", name, s.configPath())
	}
	for _, f := range []struct {
		v        *string
		env, ctx string
	}{
		{&s.endpoint, "REGISTRAR_ENDPOINT", c.Endpoint},
		{&s.scope, "REGISTRAR_SCOPE", c.Scope},
	} {
		if *f.v == "" && s.getenv(f.env) == "" {
			*f.v = f.ctx
		}
	}
	s.ctxNamespace = c.Namespace
	return nil
}

func (s *session) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage contexts: named endpoints with their scope and Service Bus namespace",
		Long: "Contexts are kept in $REGISTRAR_CONFIG, else registrar/config.json in the user's configuration directory.\n" +
			"A context fills --endpoint, --scope and register's --namespace when neither the flag nor its environment\n" +
			"variable is given; --context NAME picks one for a single command.",
		Example: "  registrar config set-context prod --endpoint https://func-registrar-x.azurewebsites.net --scope <client-id>/.default\n" +
			"  registrar config use-context prod\n  registrar config get-contexts",
	}
	cmd.AddCommand(s.setContextCmd(), s.useContextCmd(), s.getContextsCmd(), s.currentContextCmd(), s.deleteContextCmd())
	return cmd
}

func (s *session) setContextCmd() *cobra.Command {
	var c Context
	cmd := &cobra.Command{
		Use:     "set-context NAME [--endpoint URL] [--scope SCOPE] [--namespace NS]",
		Short:   "Create or change a context (only the flags given change)",
		Example: "  registrar config set-context prod --endpoint https://func-registrar-x.azurewebsites.net --scope <client-id>/.default\n  registrar config set-context prod --namespace sb-registrar-x.servicebus.windows.net",
		Args:    nArgs(1, "a context name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := s.loadConfig()
			if err != nil {
				return err
			}
			cur := cfg.Contexts[args[0]]
			if cur == nil {
				cur = &Context{}
				cfg.Contexts[args[0]] = cur
			}
			fl := cmd.Flags()
			for _, f := range []struct {
				name string
				dst  *string
				v    string
			}{
				{"endpoint", &cur.Endpoint, c.Endpoint}, {"scope", &cur.Scope, c.Scope}, {"namespace", &cur.Namespace, c.Namespace},
			} {
				if fl.Changed(f.name) {
					*f.dst = f.v
				}
			}
			if cur.Endpoint != "" {
				if _, err := NewClient(cur.Endpoint, nil); err != nil {
					return err
				}
			}
			if err := s.saveConfig(cfg); err != nil {
				return err
			}
			fmt.Fprintf(s.Stdout, "context %q saved in %s\n", args[0], s.configPath())
			return nil
		},
	}
	// Local flags shadow the global --endpoint/--scope: here they set the context's values.
	cmd.Flags().StringVar(&c.Endpoint, "endpoint", "", "Registrar's base URL")
	cmd.Flags().StringVar(&c.Scope, "scope", "", "token scope (e.g. <client-id>/.default)")
	cmd.Flags().StringVar(&c.Namespace, "namespace", "", "Service Bus namespace for register (xxx.servicebus.windows.net)")
	return cmd
}

func (s *session) useContextCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "use-context NAME",
		Short:   "Make a context the current one",
		Example: "  registrar config use-context prod",
		Args:    nArgs(1, "a context name"),
		RunE: func(_ *cobra.Command, args []string) error {
			return s.editContext(args[0], " (registrar config get-contexts lists them)", func(cfg *Config) string {
				cfg.CurrentContext = args[0]
				return fmt.Sprintf("switched to context %q", args[0])
			})
		},
	}
}

func (s *session) getContextsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "get-contexts",
		Short:   "List the contexts (* marks the current one)",
		Example: "  registrar config get-contexts\n  registrar config get-contexts -o json",
		Args:    nArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			if err := s.checkOutput(); err != nil {
				return err
			}
			cfg, err := s.loadConfig()
			if err != nil {
				return err
			}
			if s.json() {
				return s.printJSON(cfg)
			}
			names := make([]string, 0, len(cfg.Contexts))
			for n := range cfg.Contexts {
				names = append(names, n)
			}
			slices.Sort(names)
			rows := [][]string{}
			for _, n := range names {
				c, cur := cfg.Contexts[n], ""
				if n == cfg.CurrentContext {
					cur = "*"
				}
				rows = append(rows, []string{cur, n, c.Endpoint, c.Scope, c.Namespace})
			}
			table(s.Stdout, []string{"CURRENT", "NAME", "ENDPOINT", "SCOPE", "NAMESPACE"}, rows, nil)
			return nil
		},
	}
}

func (s *session) currentContextCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "current-context",
		Short:   "Print the current context's name",
		Example: "  registrar config current-context",
		Args:    nArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			cfg, err := s.loadConfig()
			if err != nil {
				return err
			}
			if cfg.CurrentContext == "" {
				return usagef("no current context (registrar config use-context NAME sets one)")
			}
			fmt.Fprintln(s.Stdout, cfg.CurrentContext)
			return nil
		},
	}
}

func (s *session) deleteContextCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete-context NAME",
		Short:   "Delete a context",
		Example: "  registrar config delete-context lab",
		Args:    nArgs(1, "a context name"),
		RunE: func(_ *cobra.Command, args []string) error {
			return s.editContext(args[0], "", func(cfg *Config) string {
				delete(cfg.Contexts, args[0])
				if cfg.CurrentContext == args[0] {
					cfg.CurrentContext = ""
				}
				return fmt.Sprintf("context %q deleted", args[0])
			})
		},
	}
}

// editContext loads the configuration, refuses a context name it does not hold (a usage error,
// hint appended), applies edit, saves, and prints what edit says it did.
func (s *session) editContext(name, hint string, edit func(*Config) string) error {
	cfg, err := s.loadConfig()
	if err != nil {
		return err
	}
	if _, ok := cfg.Contexts[name]; !ok {
		return usagef("no context %q%s", name, hint)
	}
	done := edit(cfg)
	if err := s.saveConfig(cfg); err != nil {
		return err
	}
	fmt.Fprintln(s.Stdout, done)
	return nil
}
