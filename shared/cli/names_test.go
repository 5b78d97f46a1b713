package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/api"
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
