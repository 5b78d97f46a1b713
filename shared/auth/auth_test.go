package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
)

type claim struct {
	Typ string `json:"typ"`
	Val string `json:"val"`
}

func header(t *testing.T, v any) http.Header {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderPrincipal, base64.StdEncoding.EncodeToString(raw))
	return h
}

func principal(name string, roles ...string) map[string]any {
	claims := []claim{{"name", name}}
	for _, r := range roles {
		claims = append(claims, claim{"roles", r})
	}
	return map[string]any{"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
}

func mustNew(t *testing.T, cfg Config) *Authorizer {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// parse reads a RoleDefinitions setting, failing the test on an error.
func parse(t *testing.T, setting string) []RoleDefinition {
	t.Helper()
	defs, err := ParseRoleDefinitions(setting)
	if err != nil {
		t.Fatalf("ParseRoleDefinitions: %v", err)
	}
	return defs
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pat, perm string
		want      bool
	}{
		{"*", "clusters/read", true},
		{"*/read", "clusters/read", true},
		{"*/read", "clusters/unregister", false},
		{"clusters/*", "clusters/unregister", true},
		{"clusters/*", "orphans/cleanup", false},
		{"Clusters/READ", "clusters/read", true},
		{"clusters/read", "clusters/readx", false},
		{"c*s/*e*", "clusters/register", true},
		{"*ters/re*", "machines/reset", false},
	} {
		if got := Match(c.pat, c.perm); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pat, c.perm, got, c.want)
		}
	}
}

func TestBuiltInRoles(t *testing.T) {
	a := mustNew(t, Config{EasyAuthEnabled: true})
	all := []string{api.PermClustersRead, api.PermClustersRegister, api.PermClustersUnregister, api.PermMachinesReset, api.PermOrphansCleanup, api.PermDeadLettersReplay}
	want := map[string][]string{
		api.RoleReader:   {api.PermClustersRead},
		api.RoleOperator: {api.PermClustersRead, api.PermClustersRegister, api.PermClustersUnregister, api.PermMachinesReset},
		api.RoleAdmin:    all,
	}
	for role, granted := range want {
		for _, perm := range all {
			err := a.Authorize(Principal{Name: "x", Roles: []string{role}}, perm)
			ok := strings.Contains(strings.Join(granted, " "), perm)
			if (err == nil) != ok {
				t.Errorf("%s %s: err %v, want granted=%v", role, perm, err, ok)
			}
			if err != nil && (code(err) != CodeForbidden || !strings.Contains(err.Error(), perm)) {
				t.Errorf("%s %s: refusal %v does not name the permission", role, perm, err)
			}
		}
	}
}

func TestCustomRoleWithNotActions(t *testing.T) {
	defs := `[{"Name":"Restricted","Description":"no unregister","Actions":["*"],"NotActions":["clusters/unregister","deadletters/*"]}]`
	a := mustNew(t, Config{EasyAuthEnabled: true, Roles: parse(t, defs)})
	p := Principal{Name: "r", Roles: []string{"restricted"}}
	if err := a.Authorize(p, api.PermClustersRegister); err != nil {
		t.Errorf("register refused: %v", err)
	}
	for _, perm := range []string{api.PermClustersUnregister, api.PermDeadLettersReplay} {
		if err := a.Authorize(p, perm); code(err) != CodeForbidden {
			t.Errorf("%s: got %v, want Forbidden", perm, err)
		}
	}
	// A second role can grant what the first one's NotActions exclude.
	p.Roles = append(p.Roles, api.RoleOperator)
	if err := a.Authorize(p, api.PermClustersUnregister); err != nil {
		t.Errorf("operator's unregister refused: %v", err)
	}
}

func TestRoleDefinitionsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roles.json")
	if err := os.WriteFile(path, []byte(`[{"Name":"Cleaner","Actions":["orphans/cleanup"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, Config{EasyAuthEnabled: true, Roles: parse(t, path)})
	if err := a.Authorize(Principal{Name: "c", Roles: []string{"Cleaner"}}, api.PermOrphansCleanup); err != nil {
		t.Fatal(err)
	}
	if err := a.Authorize(Principal{Name: "c", Roles: []string{"Cleaner"}}, api.PermClustersRead); err == nil {
		t.Fatal("Cleaner can read clusters")
	}
}

func TestInvalidRoleDefinitionsRefused(t *testing.T) {
	for name, setting := range map[string]string{
		"not json":          `[{"Name":`,
		"object":            `{"Name":"x","Actions":["*"]}`,
		"missing file":      filepath.Join(t.TempDir(), "absent.json"),
		"no name":           `[{"Actions":["*"]}]`,
		"no actions":        `[{"Name":"x"}]`,
		"bad pattern":       `[{"Name":"x","Actions":["clusters read"]}]`,
		"empty notaction":   `[{"Name":"x","Actions":["*"],"NotActions":[""]}]`,
		"builtin redefined": `[{"Name":"registrar.admin","Actions":["*/read"]}]`,
		"duplicate":         `[{"Name":"x","Actions":["*"]},{"Name":"X","Actions":["*"]}]`,
		"scope placeholder": `[{"Name":"x","Actions":["*"],"AssignableScopes":["/subscriptions/<subscriptionId>"]}]`,
		"resource group":    `[{"Name":"x","Actions":["*"],"AssignableScopes":["/subscriptions/` + subA + `/resourceGroups/rg"]}]`,
		"scope no slash":    `[{"Name":"x","Actions":["*"],"AssignableScopes":["subscriptions/` + subA + `"]}]`,
		"empty scope":       `[{"Name":"x","Actions":["*"],"AssignableScopes":[""]}]`,
	} {
		defs, err := ParseRoleDefinitions(setting)
		if err == nil {
			t.Errorf("%s: parsed %+v, want an error", name, defs)
		}
	}
	// New checks definitions given to it directly, too.
	for name, defs := range map[string][]RoleDefinition{
		"no actions": {{Name: "x"}},
		"bad scope":  {{Name: "x", Actions: []string{"*"}, AssignableScopes: []string{"/subscriptions/nope"}}},
		"builtin":    {{Name: api.RoleReader, Actions: []string{"*"}}},
	} {
		if _, err := New(Config{Roles: defs}); err == nil || !strings.Contains(err.Error(), "RoleDefinitions") {
			t.Errorf("%s: got %v, want an error naming RoleDefinitions", name, err)
		}
	}
}

const (
	subA = "aaaaaaaa-0000-4000-8000-000000000001"
	subB = "bbbbbbbb-0000-4000-8000-000000000002"
)

// TestAssignableScopes: a role grants its permissions only in its AssignableScopes, and a caller
// with several roles gets, per permission, the union of the scopes of the roles that grant it.
func TestAssignableScopes(t *testing.T) {
	// The shape of an Azure custom role (Id, IsCustom, Description are ignored), scope in upper case.
	setting := `[
	 {"Name":"HCI registration A","Id":null,"IsCustom":true,"Description":"sub A","Actions":["*/read","clusters/register"],
	  "NotActions":[],"AssignableScopes":["/Subscriptions/` + strings.ToUpper(subA) + `"]},
	 {"Name":"Unregister B","Actions":["*/read","clusters/unregister"],"AssignableScopes":["/subscriptions/` + subB + `"]},
	 {"Name":"All but unregister B","Actions":["*"],"NotActions":["clusters/unregister"],"AssignableScopes":["/subscriptions/` + subB + `"]},
	 {"Name":"Root","Actions":["*/read"],"AssignableScopes":["/subscriptions/` + subA + `","/"]}
	]`
	a := mustNew(t, Config{EasyAuthEnabled: true, Roles: parse(t, setting)})
	everywhere, onA, onB, onAB := domain.Everywhere(), domain.InSubscriptions(subA), domain.InSubscriptions(subB), domain.InSubscriptions(subA, subB)
	for _, c := range []struct {
		roles      []string
		permission string
		want       domain.Scope
	}{
		{[]string{"HCI registration A"}, api.PermClustersRead, onA},
		{[]string{"HCI registration A"}, api.PermClustersRegister, onA},
		{[]string{"HCI registration A"}, api.PermClustersUnregister, domain.Scope{}},
		{[]string{"HCI registration A", "Unregister B"}, api.PermClustersRead, onAB},
		{[]string{"HCI registration A", "Unregister B"}, api.PermClustersRegister, onA},
		{[]string{"HCI registration A", "Unregister B"}, api.PermClustersUnregister, onB},
		{[]string{"All but unregister B"}, api.PermClustersUnregister, domain.Scope{}},
		{[]string{"All but unregister B", "Unregister B"}, api.PermClustersUnregister, onB},
		{[]string{"All but unregister B", "HCI registration A"}, api.PermOrphansCleanup, onB},
		{[]string{"HCI registration A", api.RoleReader}, api.PermClustersRead, everywhere},
		{[]string{"HCI registration A", api.RoleReader}, api.PermClustersRegister, onA},
		{[]string{"Root"}, api.PermClustersRead, everywhere},
	} {
		p := Principal{Name: "p", Roles: c.roles}
		if diff := cmp.Diff(c.want, a.Scope(p, c.permission), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("roles %v, %s: scope (-want +got):\n%s", c.roles, c.permission, diff)
		}
		// The route guard lets a caller through when some scope holds the permission.
		if err := a.Authorize(p, c.permission); (err == nil) == c.want.Empty() {
			t.Errorf("roles %v, %s: Authorize = %v, want granted=%v", c.roles, c.permission, err, !c.want.Empty())
		}
	}
	if s := onA; !s.Allows(strings.ToUpper(subA)) || s.Allows(subB) || s.Allows("") || domain.Everywhere().Allows("") != true {
		t.Errorf("Scope.Allows: %+v", s)
	}
}

func TestAuthenticate(t *testing.T) {
	a := mustNew(t, Config{EasyAuthEnabled: true})
	p, err := a.Authenticate(header(t, principal("alice@contoso.com", api.RoleReader, api.RoleOperator)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "alice@contoso.com" || strings.Join(p.Roles, ",") != api.RoleReader+","+api.RoleOperator || p.AuthType != "aad" {
		t.Fatalf("principal %+v", p)
	}

	// Roles under the principal's role_typ, name under its name_typ.
	const roleTyp = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	const nameTyp = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	p, err = a.Authenticate(header(t, map[string]any{"auth_typ": "aad", "name_typ": nameTyp, "role_typ": roleTyp,
		"claims": []claim{{"name", "Bob"}, {nameTyp, "bob@contoso.com"}, {roleTyp, api.RoleAdmin}}}))
	if err != nil || p.Name != "bob@contoso.com" || len(p.Roles) != 1 || p.Roles[0] != api.RoleAdmin {
		t.Fatalf("got %+v, %v", p, err)
	}

	// Fallbacks for the name: preferred_username, then the name identifier.
	p, err = a.Authenticate(header(t, map[string]any{"claims": []claim{{"preferred_username", "carol"}, {claimNameIdentifier, "oid"}}}))
	if err != nil || p.Name != "carol" || len(p.Roles) != 0 {
		t.Fatalf("got %+v, %v", p, err)
	}
	p, err = a.Authenticate(header(t, map[string]any{"claims": []claim{{claimNameIdentifier, "oid-1"}}}))
	if err != nil || p.Name != "oid-1" {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	on := mustNew(t, Config{EasyAuthEnabled: true})
	good := header(t, principal("alice", api.RoleAdmin))

	// Without Easy Auth a well-formed admin principal is a spoof.
	off := mustNew(t, Config{EasyAuthEnabled: false})
	if _, err := off.Authenticate(good); code(err) != CodeUnauthenticated {
		t.Errorf("spoofed header without Easy Auth: %v", err)
	}

	raw := func(s string) http.Header { h := http.Header{}; h.Set(HeaderPrincipal, s); return h }
	b64 := func(s string) http.Header { return raw(base64.StdEncoding.EncodeToString([]byte(s))) }
	for name, c := range map[string]struct {
		h    http.Header
		code string
	}{
		"missing":     {http.Header{}, CodeUnauthenticated},
		"not base64":  {raw("%%%not-base64%%%"), CodeMalformedPrincipal},
		"not json":    {b64("{claims:"), CodeMalformedPrincipal},
		"json array":  {b64(`[1,2]`), CodeMalformedPrincipal},
		"no claims":   {b64(`{"auth_typ":"aad","claims":[]}`), CodeMalformedPrincipal},
		"claims null": {b64(`{"auth_typ":"aad"}`), CodeMalformedPrincipal},
		"no name":     {b64(`{"claims":[{"typ":"roles","val":"Registrar.Admin"}]}`), CodeMalformedPrincipal},
		"too large":   {raw(strings.Repeat("A", maxPrincipalHeader+4)), CodeMalformedPrincipal},
		// The same header twice, whatever the letter case: which one the platform set is unknown.
		"twice": {http.Header{"X-Ms-Client-Principal": {good.Get(HeaderPrincipal), good.Get(HeaderPrincipal)}}, CodeMalformedPrincipal},
		"twice in two cases": {http.Header{"X-MS-CLIENT-PRINCIPAL": {good.Get(HeaderPrincipal)},
			"x-ms-client-principal": {good.Get(HeaderPrincipal)}}, CodeMalformedPrincipal},
	} {
		_, err := on.Authenticate(c.h)
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code || e.Status != http.StatusUnauthorized {
			t.Errorf("%s: got %v, want 401 %s", name, err, c.code)
		}
	}
}

func TestUndefinedRoleGrantsNothing(t *testing.T) {
	a := mustNew(t, Config{EasyAuthEnabled: true})
	_, err := a.Check(header(t, principal("eve", "Registrar.Superuser", "*")), api.PermClustersRead)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Fatalf("got %v, want 403", err)
	}
}
