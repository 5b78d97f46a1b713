package cli

import (
	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

// exampleGUID is shown in messages about malformed GUIDs.
const exampleGUID = "6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11"

// checkGUID is a usage error unless v (the value of what) is a GUID.
func checkGUID(what, v string) error {
	if !api.IsGUID(v) {
		return usagef("%s %q is not a GUID (expected 8-4-4-4-12 hex digits, e.g. %s)", what, v, exampleGUID)
	}
	return nil
}

// checkMachine is a usage error unless v is a machine name.
func checkMachine(what, v string) error {
	if !api.IsMachineName(v) {
		return usagef("%s %q is not a machine name (1–63 characters of A-Z, a-z, 0-9 and -)", what, v)
	}
	return nil
}

// clusterArgs takes exactly <clusterId>, or with machine <clusterId> <machine>, checked locally
// so a malformed one is a usage error (exit 2), not the service's 400.
func clusterArgs(machine bool) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		want, names := 1, "<clusterId>"
		if machine {
			want, names = 2, "<clusterId> <machine>"
		}
		if len(args) != want {
			return usagef("expected %s", names)
		}
		if err := checkGUID("cluster ID", args[0]); err != nil {
			return err
		}
		if machine {
			return checkMachine("machine", args[1])
		}
		return nil
	}
}
