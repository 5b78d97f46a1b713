package cli

// registrar whoami (docs/cli.md): who the Admin API takes the caller for and what it may do
// (GET /me, docs/admin-api.md#who-am-i); and the check register --wait makes with it.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/azlocal/registrar/shared/api"
)

func (s *session) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the service takes you for: your roles and where each permission holds",
		Long: "Show the caller the Admin API sees (GET /me): its name, the roles its token claims and, for each\n" +
			"permission they grant, whether on every cluster or only on the clusters of some subscriptions\n" +
			"(the roles' AssignableScopes). Any signed-in caller may ask; it shows nobody else.",
		Example: "  registrar whoami\n  registrar whoami --context contoso -o json | jq '.permissions[\"clusters/read\"]'",
		Args:    nArgs(0, "no arguments"),
		RunE: s.run(func(ctx context.Context, _ []string) error {
			_, b, err := s.me(ctx)
			if err != nil {
				return err
			}
			if b == nil {
				return fmt.Errorf("NotSupported: %s answers no GET /api/v1/me: the service is older than this command line", s.client.Endpoint())
			}
			return show(s, b, s.showMe)
		}),
	}
}

// me reads GET /me: the caller and its answer as received; both nil when the service is too old
// to serve the route (404), so a caller can go on without it. An answer naming no principal is
// the service's failure.
func (s *session) me(ctx context.Context) (*api.Me, []byte, error) {
	b, err := s.client.do(ctx, call{method: http.MethodGet, path: "/me"})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	var m api.Me
	if err := decode(b, &m); err != nil {
		return nil, nil, err
	}
	if m.Principal == "" {
		return nil, nil, errors.New("BadAnswer: the service's GET /me names no principal")
	}
	return &m, b, nil
}

// showMe prints the caller and one row per permission of api.Permissions: where it holds it, or
// "-" when no role grants it.
func (s *session) showMe(m api.Me) error {
	fmt.Fprintf(s.Stdout, "%-20s%s\n", "Principal:", m.Principal)
	fmt.Fprintf(s.Stdout, "%-20s%s\n\n", "Roles:", orDash(strings.Join(m.Roles, ", ")))
	rows := [][]string{}
	for _, p := range api.Permissions {
		g, ok := m.Permissions[p]
		rows = append(rows, []string{p, grantText(g, ok)})
	}
	table(s.Stdout, []string{"PERMISSION", "WHERE"}, rows, nil)
	return nil
}

// grantText says where a grant holds: "every cluster", "subscriptions A, B", or "-" for none.
func grantText(g api.Grant, granted bool) string {
	switch {
	case !granted:
		return "-"
	case g.All:
		return "every cluster"
	}
	return "subscriptions " + strings.Join(g.Subscriptions, ", ")
}

// NotPermittedError is a command the caller's roles do not allow, found before anything was sent:
// a register --wait for a subscription where the caller does not hold Perm, so it could see
// neither the cluster nor its rejection (docs/cli.md#exit-codes: exit 3).
type NotPermittedError struct {
	Principal, Perm, Subscription string
	Grant                         api.Grant // where the caller holds Perm (zero: nowhere)
}

func (e *NotPermittedError) Error() string {
	where := "nowhere"
	if len(e.Grant.Subscriptions) > 0 {
		where = "only in " + grantText(e.Grant, true)
	}
	return fmt.Sprintf("NotPermitted: --wait would never see this Register's outcome: %q holds %s %s, not in subscription %s; nothing was sent",
		e.Principal, e.Perm, where, e.Subscription)
}

// checkWaitScope refuses, before anything is sent, a register --wait whose caller cannot read
// subscriptionID's clusters (docs/cli.md, "register --wait and scopes"). A service without GET /me
// (404) is not asked: the wait goes on as before.
func (s *session) checkWaitScope(ctx context.Context, subscriptionID string) error {
	m, _, err := s.me(ctx)
	if err != nil || m == nil {
		return err
	}
	g, ok := m.Permissions[api.PermClustersRead]
	if ok && g.Covers(subscriptionID) {
		return nil
	}
	return &NotPermittedError{Principal: m.Principal, Perm: api.PermClustersRead, Subscription: subscriptionID, Grant: g}
}
