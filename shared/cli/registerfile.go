package cli

// registrar register --from-file F.csv (docs/cli.md, "Bulk"): one Register message per row.

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/azlocal/registrar/shared/api"
)

// registerColumns are a register CSV's columns (the Register fields of docs/messages.md); the
// first five are required. node holds the node names separated by ';'.
var registerColumns = []string{"clusterId", "clusterName", "region", "subscriptionId", "tenantId",
	"cloud", "resourceName", "resourceGroup", "arcResourceGroup", "osVersion", "node"}

// requiredRegisterFlags are what a register without --from-file must give.
var requiredRegisterFlags = []string{"cluster-id", "cluster-name", "region", "subscription-id", "tenant-id"}

// fileRegisterFlags are the flags --from-file goes with: how to send, not what.
var fileRegisterFlags = []string{"from-file", "namespace", "queue", "requested-by"}

// checkFlags: without --from-file the cluster's required flags and their values (check); with it,
// none of the flags that describe one cluster.
func (f *registerFlags) checkFlags(cmd *cobra.Command) error {
	var named []string
	if f.fromFile == "" {
		for _, n := range requiredRegisterFlags {
			if !cmd.Flags().Changed(n) {
				named = append(named, "--"+n)
			}
		}
		if len(named) > 0 {
			return usagef("required flag(s) %s not set (or give --from-file)", strings.Join(named, ", "))
		}
		return f.check()
	}
	cmd.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if fl.Changed && !slices.Contains(fileRegisterFlags, fl.Name) {
			named = append(named, "--"+fl.Name)
		}
	})
	if len(named) > 0 {
		return usagef("--from-file takes each cluster's values from its row: drop %s", strings.Join(named, ", "))
	}
	return nil
}

// registerRow is one row's Register message and the row's line in the file.
type registerRow struct {
	registerMessage
	line string
}

// rowMessages checks every row and returns their messages; the problems of up to 10 rows are
// one usage error (nothing is sent).
func rowMessages(name string, rows []csvRow, requestedBy string) ([]registerRow, error) {
	var msgs []registerRow
	var bad []string
	for _, r := range rows {
		f := registerFlags{clusterID: r["clusterId"], clusterName: r["clusterName"], region: r["region"],
			subscriptionID: r["subscriptionId"], tenantID: r["tenantId"], cloud: r["cloud"], resourceName: r["resourceName"], resourceGroup: r["resourceGroup"],
			arcResourceGroup: r["arcResourceGroup"], osVersion: r["osVersion"], requestedBy: requestedBy}
		for _, n := range strings.Split(r["node"], ";") {
			if n = strings.TrimSpace(n); n != "" {
				f.nodes = append(f.nodes, n)
			}
		}
		err := f.check()
		switch {
		case err == nil && (f.clusterName == "" || f.region == ""):
			err = usagef("clusterName and region are required")
		case err == nil && len(f.nodes) == 0:
			err = usagef("node names no node (names separated by ';')")
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %s: %s", r["line"], strings.TrimPrefix(err.Error(), "Usage: ")))
			continue
		}
		msgs = append(msgs, registerRow{registerMessage: f.message(), line: r["line"]})
	}
	if len(bad) > 0 {
		more := ""
		if len(bad) > 10 {
			bad, more = bad[:10], fmt.Sprintf("\n  … and %d more", len(bad)-10)
		}
		return nil, usagef("%s: nothing was sent:\n  %s%s", name, strings.Join(bad, "\n  "), more)
	}
	return msgs, nil
}

// registerFromFile sends one Register per row of f.fromFile, each with its own MessageId, and
// prints one row per message; exit 1 when any could not be sent.
func (s *session) registerFromFile(ctx context.Context, f *registerFlags) error {
	s.registerDefaults(f)
	b, err := s.readInput(f.fromFile)
	if err != nil {
		return err
	}
	rows, err := readCSV(f.fromFile, b, registerColumns, registerColumns[:5])
	if err == nil && len(rows) == 0 {
		err = usagef("%s names no cluster", f.fromFile)
	}
	if err != nil {
		return err
	}
	msgs, err := rowMessages(f.fromFile, rows, f.requestedBy)
	if err != nil {
		return err
	}
	send, closeSender, err := s.sender(ctx, f)
	if err != nil {
		return err
	}
	defer closeSender()
	type sent struct {
		Line      string `json:"line"`
		ClusterID string `json:"clusterId"`
		MessageID string `json:"messageId,omitempty"`
		Error     string `json:"error,omitempty"`
	}
	out := make([]sent, 0, len(msgs))
	failed := 0
	bar := s.progress("register", len(msgs))
	for i, m := range msgs {
		body, _ := json.Marshal(m)
		r := sent{Line: m.line, ClusterID: m.ClusterID, MessageID: uuid.NewString()}
		if err := send(ctx, body, r.MessageID); err != nil {
			r.MessageID, r.Error = "", err.Error()
			failed++
		}
		out = append(out, r)
		bar.set(i + 1)
	}
	bar.end()
	if s.json() {
		b, _ := json.Marshal(map[string]any{"items": out})
		s.printRaw(b)
	} else {
		rows := [][]string{}
		for i, r := range out {
			result := "sent " + r.MessageID
			if r.Error != "" {
				result = r.Error
			}
			rows = append(rows, []string{r.Line, r.ClusterID, msgs[i].ClusterName, result})
		}
		table(s.Stdout, []string{"LINE", "CLUSTER ID", "NAME", "RESULT"}, rows, nil)
		fmt.Fprintf(s.Stdout, "%d Register message(s) sent, %d failed; registrar status <clusterId> shows each outcome\n", len(out)-failed, failed)
	}
	if failed > 0 {
		return &RejectedError{Code: "NotSent", Reason: fmt.Sprintf("%d of %d Register message(s) could not be sent", failed, len(out))}
	}
	return nil
}

// registerDefaults fills the queue (RegistrationRequestsQueue, else registration-requests) and
// requestedBy (the local user) when not given.
func (s *session) registerDefaults(f *registerFlags) {
	if f.queue == "" {
		f.queue = s.getenv("RegistrationRequestsQueue")
	}
	if f.queue == "" {
		f.queue = string(api.QueueRegistrationRequests)
	}
	if f.requestedBy == "" {
		if u, err := user.Current(); err == nil {
			f.requestedBy = u.Username
		}
	}
}
