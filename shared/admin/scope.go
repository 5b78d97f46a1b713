package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
)

// Scoping (docs/admin-api.md, "Scopes"): a role may be limited to the clusters of some
// subscriptions. The route guard lets a caller in when some role grants the route's permission
// anywhere; what the caller then sees and acts on is the scope of that permission: a read of a
// cluster outside it answers 404 (as an unknown cluster), a command 403, and lists, the summary and
// the dashboard show only the clusters in it.

// caller is what the guard puts in a request's context.
type caller struct {
	principal  auth.Principal
	permission string       // the route's
	scope      domain.Scope // where the principal holds it
}

type callerKey struct{}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// PrincipalFrom returns the authenticated caller of a request served through Handle.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	return c.principal, ok
}

// ScopeFrom returns where the caller of a request served through Handle holds the route's
// permission: for a GET route, the clusters it may read (what lists, the summary and the dashboard
// show); for a command, the clusters it may act on. The zero Scope (nothing) outside Handle.
func ScopeFrom(ctx context.Context) domain.Scope { return callerFrom(ctx).scope }

// Scope returns where the request's caller holds permission, for a handler that checks another
// permission than its route's (a bulk operation's, for each item).
func (r *Router) Scope(req *http.Request, permission string) domain.Scope {
	return r.d.Auth.Scope(callerFrom(req.Context()).principal, permission)
}

// readable answers a read of one cluster outside the caller's scope (or unknown) as notFound and
// returns false; true when the caller may read it. It costs a cluster read only for a caller
// limited to some subscriptions.
func (r *Router) readable(w http.ResponseWriter, req *http.Request, clusterID string, notFound *Problem) bool {
	err := r.d.Service.InScope(req.Context(), ScopeFrom(req.Context()), clusterID)
	if errors.Is(err, domain.ErrOutOfScope) {
		err = domain.ErrNotFound
	}
	if err != nil {
		r.failure(w, req, err, notFound)
		return false
	}
	return true
}

// scoped returns the store's filter form of the caller's scope of the route's permission.
func scoped(ctx context.Context) *domain.Scope { return narrowing(ScopeFrom(ctx)) }

// narrowing is s as ClusterFilter.Scope and Meta.Scope take it: nil when it is every cluster (no limit).
func narrowing(s domain.Scope) *domain.Scope {
	if s.All {
		return nil
	}
	return &s
}

// scopeTag names the caller's scope in a store-paged list's cursor tag, so a cursor given out for
// one scope is refused in another (they page different rows): "" for every cluster, else a digest
// of the subscriptions.
func scopeTag(ctx context.Context) string {
	s := ScopeFrom(ctx)
	if s.All {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(s.Subscriptions, ",")))
	return "@" + hex.EncodeToString(sum[:8])
}

// outOfScope is the 403 of a command on a cluster outside the caller's scope (or unknown to it).
func outOfScope(ctx context.Context, clusterID string) *Problem {
	c := callerFrom(ctx)
	return &Problem{Status: http.StatusForbidden, Code: auth.CodeForbidden, Title: "Permission denied",
		Detail: "The caller \"" + c.principal.Name + "\" lacks the permission " + c.permission + " on cluster " + clusterID +
			": its roles grant it only on the clusters of their AssignableScopes."}
}

// unscopedOnly refuses (403) a caller whose scope of the route's permission is not every cluster,
// on a route whose items belong to no subscription (dead letters, standalone machines); nil
// when it holds the permission everywhere.
func unscopedOnly(ctx context.Context, what string) *Problem {
	c := callerFrom(ctx)
	if c.scope.All {
		return nil
	}
	return &Problem{Status: http.StatusForbidden, Code: auth.CodeForbidden, Title: "Permission denied",
		Detail: what + " belong to no subscription: the caller \"" + c.principal.Name + "\" needs the permission " +
			c.permission + " from a role without AssignableScopes (or with \"/\")."}
}
