package consistency

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

const module = "github.com/azlocal/registrar"

// deps returns every package pkg builds on, its tests left out (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", module+"/"+pkg)
	cmd.Dir = repo.Root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// forbidden returns the packages of deps that match any of the rules (an import path, or a
// prefix ending in "/").
func forbidden(deps []string, rules ...string) []string {
	var out []string
	for _, d := range deps {
		for _, r := range rules {
			if d == r || strings.HasSuffix(r, "/") && strings.HasPrefix(d, r) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// TestEdgesPointTheRightWay keeps the layering of docs/architecture.md: the domain (and the
// Admin API's wire types it builds) reaches no Azure SDK and no net/http, even indirectly; the
// command line reaches the service only through the Admin API's wire types, never the domain.
func TestEdgesPointTheRightWay(t *testing.T) {
	sdk := []string{"github.com/Azure/", "net/http"}
	for pkg, rules := range map[string][]string{
		"shared/domain": sdk,
		"shared/api":    append(sdk, module+"/shared/domain"),
		"shared/cli":    {module + "/shared/domain", module + "/shared/store/", module + "/shared/admin"},
	} {
		if bad := forbidden(deps(t, pkg), rules...); len(bad) > 0 {
			t.Errorf("%s depends on %v, which it must not", pkg, bad)
		}
	}
}

// The rule check can fail: a dependency on the domain or on an SDK package is caught.
func TestForbiddenCatchesADependency(t *testing.T) {
	got := forbidden([]string{"fmt", module + "/shared/domain", "github.com/Azure/azure-sdk-for-go/sdk/azcore", "net/http/httptest"},
		module+"/shared/domain", "github.com/Azure/", "net/http")
	want := []string{module + "/shared/domain", "github.com/Azure/azure-sdk-for-go/sdk/azcore"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("forbidden = %v, want %v", got, want)
	}
}
