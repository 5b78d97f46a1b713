// Package auth authenticates admin API callers from Easy Auth's X-MS-CLIENT-PRINCIPAL header
// and authorizes them by role definitions shaped like Azure custom roles (SPEC §8).
//
// The header is trusted only when Easy Auth is on (WEBSITE_AUTH_ENABLED=True); otherwise every
// request is unauthenticated. Permissions are "<resource>/<verb>" strings such as clusters/read;
// a role grants a permission when one of its Actions matches it and none of its NotActions does.
package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
)

// HeaderPrincipal is the header App Service Authentication passes the caller in.
const HeaderPrincipal = "X-MS-CLIENT-PRINCIPAL"

// Permissions of the admin API (SPEC §8).
const (
	ClustersRead       = "clusters/read"
	ClustersRegister   = "clusters/register"
	ClustersUnregister = "clusters/unregister"
	MachinesReset      = "machines/reset"
	OrphansCleanup     = "orphans/cleanup"
	DeadLettersReplay  = "deadletters/replay"
)

// Built-in role names.
const (
	RoleReader   = "Registrar.Reader"
	RoleOperator = "Registrar.Operator"
	RoleAdmin    = "Registrar.Admin"
)

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
// "clusters/*", "*"); matching is case-insensitive. Other fields of an Azure role (Description,
// AssignableScopes, ...) are accepted and ignored.
type RoleDefinition struct {
	Name       string   `json:"Name"`
	Actions    []string `json:"Actions"`
	NotActions []string `json:"NotActions,omitempty"`
}

// BuiltInRoles returns the built-in roles of SPEC §8.
func BuiltInRoles() []RoleDefinition {
	return []RoleDefinition{
		{Name: RoleReader, Actions: []string{"*/read"}},
		{Name: RoleOperator, Actions: []string{"*/read", ClustersRegister, ClustersUnregister, MachinesReset}},
		{Name: RoleAdmin, Actions: []string{"*"}},
	}
}

// Config configures an Authorizer.
type Config struct {
	// EasyAuthEnabled says the platform's authentication is on (WEBSITE_AUTH_ENABLED=True), so
	// the principal header is trusted. False refuses every request.
	EasyAuthEnabled bool
	// RoleDefinitions is the RoleDefinitions setting: "" for the built-ins only, a JSON array of
	// RoleDefinition (starting with '['), or the path of a file holding one. Custom roles are
	// added to the built-ins; a name may not repeat (built-in names included).
	RoleDefinitions string
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
	roles   map[string]RoleDefinition // by lower-case name
}

// New returns an Authorizer; an unreadable or invalid RoleDefinitions setting is an error
// naming the setting and the bad definition, so start-up refuses it.
func New(cfg Config) (*Authorizer, error) {
	custom, err := ParseRoleDefinitions(cfg.RoleDefinitions)
	if err != nil {
		return nil, fmt.Errorf("RoleDefinitions: %w", err)
	}
	a := &Authorizer{enabled: cfg.EasyAuthEnabled, roles: map[string]RoleDefinition{}}
	for _, r := range slices.Concat(BuiltInRoles(), custom) {
		a.roles[strings.ToLower(r.Name)] = r
	}
	return a, nil
}

// ParseRoleDefinitions reads the RoleDefinitions setting (a JSON array of {Name, Actions,
// NotActions}, or the path of a file holding one; "" for none) and validates every definition:
// a name, at least one action, well-formed patterns, no name used twice (built-ins included).
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
		return nil, fmt.Errorf("want a JSON array of {Name, Actions, NotActions}: %w", err)
	}
	seen := map[string]bool{}
	for _, r := range BuiltInRoles() {
		seen[strings.ToLower(r.Name)] = true
	}
	for i, r := range defs {
		if err := validate(r); err != nil {
			return nil, fmt.Errorf("role %d (%q): %w", i, r.Name, err)
		}
		key := strings.ToLower(r.Name)
		if seen[key] {
			return nil, fmt.Errorf("role %d: name %q is already defined", i, r.Name)
		}
		seen[key] = true
	}
	return defs, nil
}

func validate(r RoleDefinition) error {
	if strings.TrimSpace(r.Name) == "" {
		return fmt.Errorf("Name is required")
	}
	if len(r.Actions) == 0 {
		return fmt.Errorf("Actions must name at least one permission pattern")
	}
	for _, p := range slices.Concat(r.Actions, r.NotActions) {
		if !validPattern(p) {
			return fmt.Errorf("pattern %q: want letters, digits, '/', '.', '-', '_' and '*' wildcards", p)
		}
	}
	return nil
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
	raw := h.Get(HeaderPrincipal)
	if raw == "" {
		return Principal{}, &Error{http.StatusUnauthorized, CodeUnauthenticated, "The request carries no authenticated principal."}
	}
	malformed := func(why string) (Principal, error) {
		return Principal{}, &Error{http.StatusUnauthorized, CodeMalformedPrincipal, "The " + HeaderPrincipal + " header " + why + "."}
	}
	if len(raw) > maxPrincipalHeader {
		return malformed("is too large")
	}
	body, err := decodeBase64(raw)
	if err != nil {
		return malformed("is not base64")
	}
	var cp struct {
		AuthType string `json:"auth_typ"`
		NameType string `json:"name_typ"`
		RoleType string `json:"role_typ"`
		Claims   []struct {
			Typ string `json:"typ"`
			Val string `json:"val"`
		} `json:"claims"`
	}
	if err := json.Unmarshal(body, &cp); err != nil {
		return malformed("is not a JSON principal")
	}
	if len(cp.Claims) == 0 {
		return malformed("has no claims")
	}
	names := map[string]string{}
	var roles []string
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
	if p.Name == "" {
		return malformed("names no caller (no name, preferred_username or name identifier claim)")
	}
	if p.Roles == nil {
		p.Roles = []string{}
	}
	return p, nil
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

// Authorize reports nil when one of p's roles grants permission, else a 403 Error naming it.
// Roles with no definition grant nothing.
func (a *Authorizer) Authorize(p Principal, permission string) error {
	for _, name := range p.Roles {
		if r, ok := a.roles[strings.ToLower(name)]; ok && grants(r, permission) {
			return nil
		}
	}
	return &Error{http.StatusForbidden, CodeForbidden,
		fmt.Sprintf("The caller %q lacks the permission %s.", p.Name, permission)}
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
