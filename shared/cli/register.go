package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/identity"
)

// registerFlags are the fields of a Register message (docs/messages.md) taken from the command line.
type registerFlags struct {
	clusterID, clusterName, region, subscriptionID, tenantID string
	cloud, resourceName, resourceGroup, arcResourceGroup     string
	osVersion                                                string
	createResourceGroup                                      bool
	nodes                                                    []string
	spn                                                      spnFlags
	namespace, queue, requestedBy                            string
	wait                                                     bool
	timeout                                                  time.Duration
	fromFile                                                 string // register --from-file (registerfile.go)
}

// check refuses malformed GUIDs and node names locally (a usage error, exit 2) rather than
// sending a message the service would reject.
func (f *registerFlags) check() error {
	for _, g := range []struct{ flag, v string }{{"--cluster-id", f.clusterID},
		{"--subscription-id", f.subscriptionID}, {"--tenant-id", f.tenantID}} {
		if err := checkGUID(g.flag, g.v); err != nil {
			return err
		}
	}
	for _, n := range f.nodes {
		if err := checkMachine("--node", n); err != nil {
			return err
		}
	}
	if f.wait && f.timeout <= 0 {
		return usagef("--timeout must be positive, not %s", f.timeout) // before anything is sent
	}
	return f.spn.check()
}

// registerMessage is the Register body the command sends (docs/messages.md): the shared wire
// type and its "type".
type registerMessage struct {
	Type string `json:"type"`
	api.RegisterMessage
}

// message is the Register body of the flags.
func (f *registerFlags) message() registerMessage {
	m := api.RegisterMessage{ClusterID: f.clusterID, ClusterName: f.clusterName, Region: f.region,
		SubscriptionID: f.subscriptionID, TenantID: f.tenantID, Cloud: f.cloud, ResourceName: f.resourceName,
		ResourceGroup: f.resourceGroup, ArcResourceGroup: f.arcResourceGroup, OSVersion: f.osVersion,
		RequestedBy: f.requestedBy, CreateResourceGroup: f.createResourceGroup, Nodes: []api.RegisterNode{}, ArcSPN: f.spn.body()}
	for _, n := range f.nodes {
		m.Nodes = append(m.Nodes, api.RegisterNode{Name: n})
	}
	return registerMessage{Type: api.MsgRegister, RegisterMessage: m}
}

func (s *session) registerCmd() *cobra.Command {
	f := &registerFlags{}
	c := &cobra.Command{
		Use:   "register --cluster-id ID --cluster-name NAME --region R --subscription-id ID --tenant-id ID [--node NAME]... [--wait [--timeout 30m]]",
		Short: "Send a Register message (Register-AzStackHCI); --wait follows it until it is applied or rejected",
		Long: "Send a Register message to the registration-requests queue: through Service Bus when ServiceBusConnection\n" +
			"(a connection string) or --namespace is set, else to the local runner at {endpoint}/dev/servicebus.\n" +
			"With --wait, wait for this message's own outcome: the cluster Registered by it (exit 0) or its rejection\n" +
			"(exit 1, with its code and number, e.g. ResourceExistsInDifferentRegion (9104) for a cluster registered\n" +
			"in another region). Before sending, --wait checks (GET /me) that your roles read --subscription-id's clusters:\n" +
			"otherwise it could never see the outcome, so it sends nothing and exits 3 (see registrar whoami).\n" +
			"The flags are Register-AzStackHCI's: a re-run repeats -ResourceName, -ResourceGroupName\n" +
			"and the others given the first time (registrar status shows them).\n" +
			"GUIDs and node names are checked before anything is sent (exit 2 when malformed).\n\n" +
			"With --from-file F.csv, one Register message per row: the header row names the columns\n" +
			"clusterId,clusterName,region,subscriptionId,tenantId (required) and optionally cloud, resourceName,\n" +
			"resourceGroup, arcResourceGroup, osVersion and node (node names separated by ';'). Every row is checked\n" +
			"before any is sent.",
		Example: "  registrar register --cluster-id 6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11 --cluster-name hci-01 --region eastus \\\n" +
			"    --subscription-id 0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 \\\n" +
			"    --node node1 --node node2 --os-version 2508 --wait\n" +
			"  registrar register --from-file clusters.csv",
		Args:    nArgs(0, "flags only"),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return f.checkFlags(cmd) },
		RunE: s.run(func(ctx context.Context, _ []string) error {
			if f.fromFile != "" {
				return s.registerFromFile(ctx, f)
			}
			return s.register(ctx, f)
		}),
	}
	fl := c.Flags()
	fl.StringVar(&f.clusterID, "cluster-id", "", "the on-premises cluster GUID (required)")
	fl.StringVar(&f.clusterName, "cluster-name", "", "the cluster's name (required)")
	fl.StringVar(&f.region, "region", "", "Azure region, e.g. eastus (required)")
	fl.StringVar(&f.subscriptionID, "subscription-id", "", "Azure subscription GUID (required)")
	fl.StringVar(&f.tenantID, "tenant-id", "", "Entra tenant GUID (required)")
	fl.StringArrayVar(&f.nodes, "node", nil, "a node (machine) name; repeat for each node")
	fl.StringVar(&f.cloud, "cloud", "", "AzureCloud (default), AzureChinaCloud or AzureUSGovernment")
	fl.StringVar(&f.resourceName, "resource-name", "", "the cluster resource's name (default the cluster name; Register-AzStackHCI -ResourceName)")
	fl.StringVar(&f.resourceGroup, "resource-group", "", "resource group (default <resourceName>-rg)")
	fl.StringVar(&f.arcResourceGroup, "arc-resource-group", "", "Arc resource group (default the resource group)")
	fl.BoolVar(&f.createResourceGroup, "create-resource-group", false, "the registration creates (and owns) the resource group")
	fl.StringVar(&f.osVersion, "os-version", "", "OS version, e.g. 23H2 or 2508")
	fl.StringVar(&f.namespace, "namespace", "", "Service Bus namespace (xxx.servicebus.windows.net) to send to with DefaultAzureCredential")
	fl.StringVar(&f.queue, "queue", "", "queue name (env RegistrationRequestsQueue; default registration-requests)")
	fl.BoolVar(&f.wait, "wait", false, "wait until this message is applied (exit 0) or rejected (exit 1)")
	addTimeoutFlag(fl, &f.timeout)
	f.spn.flags(fl, "the Arc onboarding SPN (Register-AzStackHCI -ArcSpnCredential)")
	fl.StringVar(&f.requestedBy, "requested-by", "", "who asks, recorded as requestedBy in the cluster's history (default: the local user name)")
	fl.StringVar(&f.fromFile, "from-file", "", "send one Register per row of this CSV instead (see registrar help register)")
	return c
}

func (s *session) register(ctx context.Context, f *registerFlags) error {
	s.registerDefaults(f)
	body, err := json.Marshal(f.message())
	if err != nil {
		return err
	}
	send, closeSender, err := s.sender(ctx, f)
	if err != nil {
		return err
	}
	defer closeSender()
	var m mark
	if f.wait {
		if err := s.checkWaitScope(ctx, f.subscriptionID); err != nil {
			return err
		}
		if m, err = s.markBefore(ctx, f.clusterID); err != nil {
			return err
		}
	}
	id := uuid.NewString()
	if err := send(ctx, body, id); err != nil {
		return err
	}
	if !f.wait {
		if s.json() {
			b, _ := json.Marshal(map[string]string{"messageId": id, "clusterId": f.clusterID})
			s.printRaw(b)
		} else {
			fmt.Fprintf(s.Stdout, "sent Register for %s as message %s\n", f.clusterID, id)
		}
		return nil
	}
	if !s.json() {
		fmt.Fprintf(s.Stdout, "sent Register for %s as message %s; waiting…\n", f.clusterID, id)
	}
	return s.waiting(ctx, f.timeout, func(ctx context.Context) error { return s.waitRegistered(ctx, f.clusterID, id, m) })
}

// sendFunc puts one message (body, MessageId) on the queue.
type sendFunc func(ctx context.Context, body []byte, id string) error

// sender returns how to put messages on the queue: Service Bus when configured, else the local
// runner; a bad configuration is found here, before anything is read or sent. close releases it.
func (s *session) sender(ctx context.Context, f *registerFlags) (send sendFunc, close func(), err error) {
	conn := s.getenv("ServiceBusConnection")
	ns := f.namespace
	if ns == "" {
		ns = s.getenv("ServiceBusConnection__fullyQualifiedNamespace")
	}
	if ns == "" {
		ns = s.ctxNamespace
	}
	if conn == "" && ns == "" {
		u := s.client.Endpoint() + "/dev/servicebus/" + url.PathEscape(f.queue) + "/messages"
		return func(ctx context.Context, body []byte, id string) error {
			bp, _ := json.Marshal(map[string]string{"MessageId": id})
			_, err := s.client.send(ctx, http.MethodPost, u, json.RawMessage(body), http.Header{"Brokerproperties": {string(bp)}}, "")
			return err
		}, func() {}, nil
	}
	var sb *azservicebus.Client
	if conn != "" {
		sb, err = azservicebus.NewClientFromConnectionString(conn, nil)
	} else {
		var cred azcore.TokenCredential = s.Credential
		if cred == nil {
			if cred, err = identity.Credential(""); err != nil {
				return nil, nil, &AuthError{Err: err}
			}
		}
		sb, err = azservicebus.NewClient(ns, cred, nil)
	}
	if err != nil {
		// The error may quote the connection string: never print it.
		return nil, nil, usagef("ServiceBusConnection or --namespace is not a valid Service Bus connection string or namespace")
	}
	sender, err := sb.NewSender(f.queue, nil)
	if err != nil {
		sb.Close(context.WithoutCancel(ctx))
		return nil, nil, &UnreachableError{Endpoint: "Service Bus queue " + f.queue, Err: err}
	}
	close = func() {
		sender.Close(context.WithoutCancel(ctx))
		sb.Close(context.WithoutCancel(ctx))
	}
	return func(ctx context.Context, body []byte, id string) error {
		ct := "application/json"
		if err := sender.SendMessage(ctx, &azservicebus.Message{Body: body, MessageID: &id, ContentType: &ct}, nil); err != nil {
			return &UnreachableError{Endpoint: "Service Bus queue " + f.queue, Err: err}
		}
		return nil
	}, close, nil
}

// registerProgress shows the cluster's registration status while waiting: on a terminal one
// line redrawn with the elapsed time, otherwise a plain line when the status changes.
func (s *session) registerProgress(last *string, status string, start time.Time) {
	switch {
	case s.json():
	case s.StdoutTerminal:
		fmt.Fprintf(s.Stdout, "\r\x1b[Kregistration status: %s  elapsed %s", s.st.status(status), s.now().Sub(start).Truncate(time.Second))
	case status != *last:
		fmt.Fprintf(s.Stdout, "registration status: %s\n", status)
	}
	*last = status
	s.waitState = "registration status " + status
}

// mark is what the service showed before a Register was sent: where its history and the
// rejections began (the newest entry's time; zero when empty).
type mark struct {
	history, rejections time.Time
}

// entry is the part of a history entry or rejection the wait reads.
type entry struct {
	At        time.Time `json:"at"`
	MessageID string    `json:"messageId"`
}

// markBefore reads the mark for clusterID; a cluster not known yet has an empty history.
func (s *session) markBefore(ctx context.Context, clusterID string) (mark, error) {
	var m mark
	var err error
	if m.rejections, err = s.newest(ctx, "/rejections"); err != nil {
		return m, err
	}
	m.history, err = s.newest(ctx, clusterPath(clusterID)+"/history")
	return m, err
}

// newest is the time of the first (newest) entry of path; zero when there is none or path is
// not found.
func (s *session) newest(ctx context.Context, path string) (time.Time, error) {
	b, err := s.client.do(ctx, call{method: "GET", path: path, query: url.Values{"limit": {"1"}}, perm: api.PermClustersRead})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, err
	}
	var p struct{ Items []entry }
	if err := decode(b, &p); err != nil || len(p.Items) == 0 {
		return time.Time{}, err
	}
	return p.Items[0].At, nil
}

// findMessage walks the pages of path (newest first) for the item naming messageID. It stops at
// the first item not newer than since (the newest item before the send), so each poll reads
// only what is new since the send.
func (s *session) findMessage(ctx context.Context, path, messageID string, since time.Time) (json.RawMessage, error) {
	q := url.Values{}
	seen := map[string]bool{}
	for {
		b, err := s.client.do(ctx, call{method: "GET", path: path, query: q, perm: api.PermClustersRead})
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		var p struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := decode(b, &p); err != nil {
			return nil, err
		}
		for _, raw := range p.Items {
			var e entry
			if err := decode(raw, &e); err != nil {
				return nil, err
			}
			if e.MessageID == messageID {
				return raw, nil
			}
			if !e.At.After(since) {
				return nil, nil
			}
		}
		if p.NextCursor == "" || seen[p.NextCursor] {
			return nil, nil
		}
		seen[p.NextCursor] = true
		q.Set("cursor", p.NextCursor)
	}
}

// clusterView reads the view (docs/admin-api.md#the-cluster-view) of a cluster; nil when it is not known (404).
func (s *session) clusterView(ctx context.Context, clusterID string) (*api.ClusterView, []byte, error) {
	b, err := s.client.do(ctx, call{method: "GET", path: clusterPath(clusterID), perm: api.PermClustersRead})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	var v api.ClusterView
	if err := decode(b, &v); err != nil {
		return nil, nil, err
	}
	return &v, b, nil
}

// waitRegistered polls until the message's own outcome is known: a rejection naming it (a
// RejectedError with its code), or the cluster Registered with the message in its history (a
// Register that changes nothing still leaves an "accepted" entry).
func (s *session) waitRegistered(ctx context.Context, clusterID, messageID string, m mark) error {
	last, start := "", s.now()
	for {
		raw, err := s.findMessage(ctx, "/rejections", messageID, m.rejections)
		if err != nil {
			return err
		}
		if raw != nil {
			var r api.Rejection
			if err := decode(raw, &r); err != nil {
				return err
			}
			if s.json() {
				s.printRaw(raw)
			}
			return &RejectedError{Code: r.Code, Number: r.Number, Reason: r.Reason}
		}
		hist, err := s.findMessage(ctx, clusterPath(clusterID)+"/history", messageID, m.history)
		if err != nil {
			return err
		}
		v, b, err := s.clusterView(ctx, clusterID)
		switch {
		case err != nil:
			return err
		case v == nil:
			s.registerProgress(&last, "not known yet", start)
		case v.RegistrationStatus == api.StatusRegistered && hist != nil:
			if s.json() {
				s.printRaw(b)
			} else {
				if s.StdoutTerminal {
					fmt.Fprint(s.Stdout, "\r\x1b[K")
				}
				fmt.Fprintf(s.Stdout, "%s (%s) is Registered: %s\n", v.ClusterName, v.ClusterID, v.ResourceID)
			}
			return nil
		default:
			s.registerProgress(&last, v.RegistrationStatus, start)
		}
		if err := sleep(ctx, s.poll()); err != nil {
			return err
		}
	}
}
