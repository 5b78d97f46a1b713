package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

// machinesCmd groups commands about machines that are not a cluster's node.
func (s *session) machinesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "machines",
		Short:   "Machines outside any cluster",
		Example: "  registrar machines standalone",
	}
	c.AddCommand(&cobra.Command{
		Use: "standalone",
		Short: "List machines installed before any cluster names them, with their deadline to create or join one " +
			"(Get-AzureStackHCI's ClusterStatus before cluster creation)",
		Example: "  registrar machines standalone\n  registrar machines standalone -o json | jq '.items[] | select(.clusterStatus==\"OutOfPolicy\")'",
		Args:    nArgs(0, "no arguments"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			ms, printed, err := listAll[api.StandaloneMachine](ctx, s, "/machines/standalone", nil)
			if printed || err != nil {
				return err
			}
			now := s.now()
			rows := [][]string{}
			for _, m := range ms {
				os := orDash(m.OSVersion)
				if m.OSRelease != "" {
					os += " (" + m.OSRelease + ")"
				}
				rows = append(rows, []string{m.Machine, when(&m.InstalledAt, now), os, m.ClusterStatus, when(&m.Deadline, now)})
			}
			table(s.Stdout, []string{"MACHINE", "INSTALLED", "OS", "CLUSTER STATUS", "CREATE OR JOIN A CLUSTER BY"}, rows, s.st.status)
			fmt.Fprintf(s.Stdout, "%d standalone machine(s)\n", len(ms))
			return nil
		}),
	})
	return c
}
