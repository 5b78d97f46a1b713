package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
)

// TestNamesComeFromAPI keeps the CLI from keeping its own copy of a permission or role name:
// the Admin API's names are defined once, in package api (docs/admin-api.md#roles-and-permissions).
func TestNamesComeFromAPI(t *testing.T) {
	names := map[string]bool{}
	for _, n := range []string{api.PermClustersRead, api.PermClustersRegister, api.PermClustersUnregister,
		api.PermMachinesReset, api.PermOrphansCleanup, api.PermDeadLettersReplay,
		api.RoleReader, api.RoleOperator, api.RoleAdmin} {
		names[n] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && names[s] {
				t.Errorf("%s: literal %q: use the constant of package api", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
}

// TestRoleHintIsTheLeastBuiltInRole: the role a 403's hint names is the first built-in role
// (Reader, Operator, Admin) whose actions grant the permission, as auth matches them.
func TestRoleHintIsTheLeastBuiltInRole(t *testing.T) {
	for _, perm := range []string{api.PermClustersRead, api.PermClustersRegister, api.PermClustersUnregister,
		api.PermMachinesReset, api.PermOrphansCleanup, api.PermDeadLettersReplay} {
		want := ""
		for _, r := range auth.BuiltInRoles() {
			if slices.ContainsFunc(r.Actions, func(a string) bool { return auth.Match(a, perm) }) {
				want = r.Name
				break
			}
		}
		if got := roleFor(perm); got != want {
			t.Errorf("roleFor(%s) = %s, want %s", perm, got, want)
		}
	}
}
