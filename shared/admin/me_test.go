package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// TestMeAnswersTheCallerAboutItself: GET /me needs no permission, and tells each caller its own
// name, claimed roles and where it holds each permission (docs/admin-api.md#who-am-i): every
// cluster for an unscoped role, the subscriptions of AssignableScopes for a scoped one (the union
// over its roles), and nothing for a caller whose roles grant nothing.
func TestMeAnswersTheCallerAboutItself(t *testing.T) {
	all := api.Grant{All: true, Subscriptions: []string{}}
	here := api.Grant{Subscriptions: []string{subHere}}
	other := api.Grant{Subscriptions: []string{subOther}}
	allOf := func(perms ...string) map[string]api.Grant {
		m := map[string]api.Grant{}
		for _, p := range perms {
			m[p] = all
		}
		return m
	}
	for name, c := range map[string]struct {
		principal string
		want      api.Me
	}{
		"admin": {admin, api.Me{Principal: "ada@contoso.com", Roles: []string{api.RoleAdmin}, Permissions: allOf(api.Permissions...)}},
		"reader": {reader, api.Me{Principal: "rita@contoso.com", Roles: []string{api.RoleReader},
			Permissions: allOf(api.PermClustersRead)}},
		"restricted": {restricted, api.Me{Principal: "rex@contoso.com", Roles: []string{roleRestricted},
			Permissions: allOf(api.PermClustersRead, api.PermClustersRegister, api.PermMachinesReset, api.PermOrphansCleanup, api.PermDeadLettersReplay)}},
		"no roles": {nobody, api.Me{Principal: "nils@contoso.com", Roles: []string{}, Permissions: map[string]api.Grant{}}},
		"scoped, two roles": {readHereUnregisterElsewhere, api.Me{Principal: "uma@contoso.com",
			Roles:       []string{"Reader.Here", "Unregister.Elsewhere"},
			Permissions: map[string]api.Grant{api.PermClustersRead: here, api.PermClustersUnregister: other}}},
		"scoped and unscoped": {principalHeader("sam@contoso.com", "Admin.Elsewhere", api.RoleReader, "Unknown.Role"), api.Me{
			Principal: "sam@contoso.com", Roles: []string{"Admin.Elsewhere", api.RoleReader, "Unknown.Role"},
			Permissions: map[string]api.Grant{api.PermClustersRead: all, api.PermClustersRegister: other, api.PermClustersUnregister: other,
				api.PermMachinesReset: other, api.PermOrphansCleanup: other, api.PermDeadLettersReplay: other}}},
	} {
		e := seeded(t)
		var got api.Me
		decode(t, e.call("GET", "/api/v1/me", c.principal, ""), &got)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: GET /me (-want +got):\n%s", name, diff)
		}
	}
}

// TestMeRefusals: /me is 401 without a trusted principal (as every route), takes no query
// parameter, and its answer names no other principal than the caller.
func TestMeRefusals(t *testing.T) {
	e := seeded(t)
	problem(t, e.call("GET", "/api/v1/me", "", ""), http.StatusUnauthorized, auth.CodeUnauthenticated)
	problem(t, e.call("GET", "/api/v1/me", "!!!", ""), http.StatusUnauthorized, auth.CodeMalformedPrincipal)
	problem(t, newEnv(t, envOptions{store: memory.New(nil), easyAuthOff: true}).call("GET", "/api/v1/me", admin, ""),
		http.StatusUnauthorized, auth.CodeUnauthenticated)
	problem(t, e.call("GET", "/api/v1/me?principal=ada@contoso.com", reader, ""), http.StatusBadRequest, domain.CodeInvalidField)
	problem(t, e.call("POST", "/api/v1/me", reader, ""), http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	// The fleet's history names other principals (the seeded commands'); /me never does.
	body := e.call("GET", "/api/v1/me", adminElsewhere, "").Body.String()
	for _, other := range []string{"ada@", "rita@", "otto@", "hanna@", subHere, cluster1} {
		if strings.Contains(body, other) {
			t.Errorf("GET /me for erik shows %q: %s", other, body)
		}
	}
}
