// Package auth authenticates admin API callers from Easy Auth's X-MS-CLIENT-PRINCIPAL header
// and authorizes them by role definitions shaped like Azure custom roles (docs/admin-api.md).
//
// The header is trusted only when Easy Auth is on (WEBSITE_AUTH_ENABLED=True); otherwise every
// request is unauthenticated. Permissions are "<resource>/<verb>" strings such as clusters/read;
// a role grants a permission when one of its Actions matches it and none of its NotActions does,
// on the clusters of its AssignableScopes (every cluster when it has none, or "/").
package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
)

// HeaderPrincipal is the header App Service Authentication passes the caller in.
const HeaderPrincipal = "X-MS-CLIENT-PRINCIPAL"

// Problem codes of refused callers.
const (
	CodeUnauthenticated    = "Unauthenticated"    // 401: no trusted principal
	CodeMalformedPrincipal = "MalformedPrincipal" // 401: the principal header cannot be read
	CodeForbidden          = "Forbidden"          // 403: no role grants the permission
)

// maxPrincipalHeader bounds the encoded principal header.
const maxPrincipalHeader = 32 << 10

// Claim types used when the principal names no usable name claim.
const (
	claimName              = "name"
	claimPreferredUsername = "preferred_username"
	claimNameIdentifier    = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
	claimRoles             = "roles"
)

// RoleDefinition maps a role to permissions, in the shape of an Azure custom role. Actions and
// NotActions are permission patterns where '*' matches any run of characters (e.g. "*/read",
// "clusters/*", "*"); matching is case-insensitive. AssignableScopes limits the role to the
// clusters of some subscriptions ("/subscriptions/<GUID>"); none, or "/", is every cluster. Other
// fields of an Azure role (Id, IsCustom, Description, ...) are accepted and ignored.
type RoleDefinition struct {
	Name             string   `json:"Name"`
	Actions          []string `json:"Actions"`
	NotActions       []string `json:"NotActions,omitempty"`
	AssignableScopes []string `json:"AssignableScopes,omitempty"`
}

// BuiltInRoles returns the built-in roles of docs/admin-api.md#roles-and-permissions.
func BuiltInRoles() []RoleDefinition {
	return []RoleDefinition{
		{Name: api.RoleReader, Actions: []string{"*/read"}},
		{Name: api.RoleOperator, Actions: append([]string{"*/read"}, api.OperatorPermissions...)},
		{Name: api.RoleAdmin, Actions: []string{"*"}},
	}
}

// Config configures an Authorizer.
type Config struct {
	// EasyAuthEnabled says the platform's authentication is on (WEBSITE_AUTH_ENABLED=True), so
	// the principal header is trusted. False refuses every request.
	EasyAuthEnabled bool
	// Roles are the custom roles (ParseRoleDefinitions reads them from the RoleDefinitions
	// setting), added to the built-ins; a name may not repeat (built-in names included).
	Roles []RoleDefinition
}

// Principal is an authenticated caller.
type Principal struct {
	Name     string   `json:"name"`
	AuthType string   `json:"authType,omitempty"`
	Roles    []string `json:"roles"`
}

// Error is a refused caller: Status is 401 or 403, Code one of the Code constants, Detail a
// human sentence (it never echoes the header).
type Error struct {
	Status int
	Code   string
	Detail string
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Authorizer authenticates and authorizes admin callers. It is safe for concurrent use.
type Authorizer struct {
	enabled bool
	roles   map[string]role // by lower-case name
}

// role is a validated definition with its scope.
type role struct {
	RoleDefinition
	scope domain.Scope
}

// New returns an Authorizer; an invalid custom role is an error naming RoleDefinitions and the
// bad definition, so start-up refuses it.
func New(cfg Config) (*Authorizer, error) {
	roles, err := compile(cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("RoleDefinitions: %w", err)
	}
	return &Authorizer{enabled: cfg.EasyAuthEnabled, roles: roles}, nil
}

// compile validates the custom roles and returns them with the built-ins, by lower-case name.
func compile(custom []RoleDefinition) (map[string]role, error) {
	roles := map[string]role{}
	for _, r := range BuiltInRoles() {
		roles[strings.ToLower(r.Name)] = role{r, domain.Everywhere()}
	}
	for i, r := range custom {
		scope, err := validate(r)
		if err != nil {
			return nil, fmt.Errorf("role %d (%q): %w", i, r.Name, err)
		}
		key := strings.ToLower(r.Name)
		if _, seen := roles[key]; seen {
			return nil, fmt.Errorf("role %d: name %q is already defined", i, r.Name)
		}
		roles[key] = role{r, scope}
	}
	return roles, nil
}

// ParseRoleDefinitions reads the RoleDefinitions setting (a JSON array of {Name, Actions,
// NotActions, AssignableScopes}, or the path of a file holding one; "" for none) and validates
// every definition: a name, at least one action, well-formed patterns and scopes, no name used
// twice (built-ins included). It is the only reader of the setting; New takes its result.
func ParseRoleDefinitions(setting string) ([]RoleDefinition, error) {
	s := strings.TrimSpace(setting)
	if s == "" {
		return nil, nil
	}
	raw := []byte(s)
	if !strings.HasPrefix(s, "[") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("not a JSON array and not a readable file: %w", err)
		}
		raw = b
	}
	var defs []RoleDefinition
	if err := json.Unmarshal(raw, &defs); err != nil {
		return nil, fmt.Errorf("want a JSON array of {Name, Actions, NotActions, AssignableScopes}: %w", err)
	}
	if _, err := compile(defs); err != nil {
		return nil, err
	}
	return defs, nil
}

// validate checks one definition and returns its scope.
func validate(r RoleDefinition) (domain.Scope, error) {
	if strings.TrimSpace(r.Name) == "" {
		return domain.Scope{}, fmt.Errorf("Name is required")
	}
	if len(r.Actions) == 0 {
		return domain.Scope{}, fmt.Errorf("Actions must name at least one permission pattern")
	}
	for _, p := range slices.Concat(r.Actions, r.NotActions) {
		if !validPattern(p) {
			return domain.Scope{}, fmt.Errorf("pattern %q: want letters, digits, '/', '.', '-', '_' and '*' wildcards", p)
		}
	}
	return scopeOf(r.AssignableScopes)
}

// subscriptionScope is the prefix of a subscription's scope ("/subscriptions/<GUID>").
const subscriptionScope = "/subscriptions/"

// scopeOf reads AssignableScopes: none, or "/" among them, is every cluster; otherwise each is
// "/subscriptions/<GUID>" (any case). A narrower Azure scope (a resource group) is refused rather
// than widened to its subscription.
func scopeOf(scopes []string) (domain.Scope, error) {
	if len(scopes) == 0 || slices.Contains(scopes, "/") {
		return domain.Everywhere(), nil
	}
	var subs []string
	for i, sc := range scopes {
		id, ok := strings.CutPrefix(strings.ToLower(sc), subscriptionScope)
		if !ok || !domain.IsGUID(id) {
			return domain.Scope{}, fmt.Errorf("AssignableScopes[%d] %q: want \"/\" or \"/subscriptions/<subscription GUID>\"", i, sc)
		}
		subs = append(subs, id)
	}
	return domain.InSubscriptions(subs...), nil
}

func validPattern(p string) bool {
	if p == "" || len(p) > 200 {
		return false
	}
	for _, c := range p {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/.-_*", c)
		if !ok {
			return false
		}
	}
	return true
}

// Authenticate reads the caller from the request's headers. It fails with a 401 Error when
// Easy Auth is off, the header is missing, or it is not base64 JSON with claims and a name.
func (a *Authorizer) Authenticate(h http.Header) (Principal, error) {
	if !a.enabled {
		return Principal{}, &Error{http.StatusUnauthorized, CodeUnauthenticated,
			"App Service Authentication is not enabled, so no caller can be trusted."}
	}
	values := principalValues(h)
	if len(values) == 0 || values[0] == "" {
		return Principal{}, &Error{http.StatusUnauthorized, CodeUnauthenticated, "The request carries no authenticated principal."}
	}
	malformed := func(why string) (Principal, error) {
		return Principal{}, &Error{http.StatusUnauthorized, CodeMalformedPrincipal, "The " + HeaderPrincipal + " header " + why + "."}
	}
	if len(values) > 1 {
		return malformed("appears more than once") // which one the platform set is unknown
	}
	raw := values[0]
	if len(raw) > maxPrincipalHeader {
		return malformed("is too large")
	}
	body, err := decodeBase64(raw)
	if err != nil {
		return malformed("is not base64")
	}
	var cp clientPrincipal
	if err := json.Unmarshal(body, &cp); err != nil {
		return malformed("is not a JSON principal")
	}
	if len(cp.Claims) == 0 {
		return malformed("has no claims")
	}
	p := cp.principal()
	if p.Name == "" {
		return malformed("names no caller (no name, preferred_username or name identifier claim)")
	}
	return p, nil
}

// clientPrincipal is the JSON Easy Auth encodes in the principal header.
type clientPrincipal struct {
	AuthType string `json:"auth_typ"`
	NameType string `json:"name_typ"`
	RoleType string `json:"role_typ"`
	Claims   []struct {
		Typ string `json:"typ"`
		Val string `json:"val"`
	} `json:"claims"`
}

// principal reads the caller from the claims: the name under name_typ, else the first of the
// usual name claims; the roles under "roles" and role_typ, each once. Name "" when none names it.
func (cp clientPrincipal) principal() Principal {
	names := map[string]string{}
	roles := []string{}
	for _, c := range cp.Claims {
		if _, seen := names[c.Typ]; !seen && c.Val != "" {
			names[c.Typ] = c.Val
		}
		if (c.Typ == claimRoles || (cp.RoleType != "" && c.Typ == cp.RoleType)) && c.Val != "" && !slices.Contains(roles, c.Val) {
			roles = append(roles, c.Val)
		}
	}
	p := Principal{AuthType: cp.AuthType, Roles: roles}
	for _, typ := range []string{cp.NameType, claimName, claimPreferredUsername, claimNameIdentifier} {
		if typ != "" && names[typ] != "" {
			p.Name = names[typ]
			break
		}
	}
	return p
}

// principalValues are the principal header's values under any letter case of its name.
func principalValues(h http.Header) []string {
	var vs []string
	for k, v := range h {
		if strings.EqualFold(k, HeaderPrincipal) {
			vs = append(vs, v...)
		}
	}
	return vs
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// Authorize reports nil when one of p's roles grants permission on some clusters at least, else
// a 403 Error naming it. Roles with no definition grant nothing. Where it is granted is Scope's.
func (a *Authorizer) Authorize(p Principal, permission string) error {
	if a.Scope(p, permission).Empty() {
		return &Error{http.StatusForbidden, CodeForbidden,
			fmt.Sprintf("The caller %q lacks the permission %s.", p.Name, permission)}
	}
	return nil
}

// Scope returns where p holds permission: the union, over p's roles that grant it, of their
// scopes (every cluster as soon as one of them is unscoped). The zero Scope when none grants it.
func (a *Authorizer) Scope(p Principal, permission string) domain.Scope {
	var s domain.Scope
	for _, name := range p.Roles {
		if r, ok := a.roles[strings.ToLower(name)]; ok && grants(r.RoleDefinition, permission) {
			s = s.Union(r.scope)
		}
	}
	return s
}

// Check authenticates the request's caller and authorizes permission in one step.
func (a *Authorizer) Check(h http.Header, permission string) (Principal, error) {
	p, err := a.Authenticate(h)
	if err != nil {
		return Principal{}, err
	}
	return p, a.Authorize(p, permission)
}

func grants(r RoleDefinition, permission string) bool {
	match := func(pat string) bool { return Match(pat, permission) }
	return slices.ContainsFunc(r.Actions, match) && !slices.ContainsFunc(r.NotActions, match)
}

// Match reports whether permission matches pattern, where '*' matches any run of characters
// (including '/') and letters compare case-insensitively.
func Match(pattern, permission string) bool {
	p, s := strings.ToLower(pattern), strings.ToLower(permission)
	// Iterative glob with backtracking to the last '*'.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
