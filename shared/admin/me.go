package admin

import (
	"net/http"

	"github.com/azlocal/registrar/shared/api"
)

// PathMe is who-am-i (docs/admin-api.md#who-am-i): any authenticated caller, about itself only.
const PathMe = "/me"

// me answers the caller's name, the roles its token claims and, for each permission of
// api.Permissions that one of them grants, where (every cluster, or the clusters of some
// subscriptions): what the route guard would let it do. It reads nothing from the store and names
// no other principal.
func (r *Router) me(w http.ResponseWriter, req *http.Request) {
	if _, pr := parseQuery(req); pr != nil {
		WriteProblem(w, pr)
		return
	}
	p := callerFrom(req.Context()).principal
	out := api.Me{Principal: p.Name, Roles: p.Roles, Permissions: map[string]api.Grant{}}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	for _, perm := range api.Permissions {
		s := r.d.Auth.Scope(p, perm)
		if s.Empty() {
			continue
		}
		g := api.Grant{All: s.All, Subscriptions: s.Subscriptions}
		if g.All || g.Subscriptions == nil {
			g.Subscriptions = []string{}
		}
		out.Permissions[perm] = g
	}
	WriteJSON(w, http.StatusOK, out)
}
