package cli

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

// addCompletions gives shell completion (registrar completion bash|zsh|fish|powershell, cobra's
// generator) the values the command line knows without asking the service: output formats,
// the list filters' status names, queue names and the contexts file's context names.
func (s *session) addCompletions(root *cobra.Command) {
	fixed := func(values ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	_ = root.RegisterFlagCompletionFunc("output", fixed("table", "json"))
	_ = root.RegisterFlagCompletionFunc("context", s.completeContexts)
	filters := map[string][]string{
		"registration-status": {api.StatusNotYet, api.StatusRegistered, api.StatusOutOfPolicy},
		"connection-status":   {api.StatusNotYet, api.StatusConnected, api.StatusDisconnect, api.StatusOutOfPolicy},
		"orphan":              {api.OrphanNone, api.OrphanSuspected, api.OrphanCleanedUp},
	}
	visit(root, func(c *cobra.Command) {
		for flag, values := range filters {
			if c.LocalNonPersistentFlags().Lookup(flag) != nil {
				_ = c.RegisterFlagCompletionFunc(flag, fixed(values...))
			}
		}
		switch c.CommandPath() {
		case "registrar deadletters":
			c.ValidArgsFunction = firstArg(fixed(string(api.QueueRegistrationRequests), string(api.QueueMachineEvents)))
		case "registrar config use-context", "registrar config delete-context", "registrar config set-context":
			c.ValidArgsFunction = firstArg(s.completeContexts)
		}
	})
}

// completeContexts completes the contexts file's context names.
func (s *session) completeContexts(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg, err := s.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, cobra.ShellCompDirectiveNoFileComp
}

// firstArg completes the first positional argument with f, and nothing after it.
func firstArg(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(c, args, toComplete)
	}
}

// visit calls f on c and every command below it.
func visit(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		visit(sub, f)
	}
}
