package app

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

// TestOpenAPIMatchesRoutes: docs/openapi.json describes exactly the routes the assembled Admin
// function serves (the admin API and the dashboard's, both ways), with each route's permission,
// its path parameters, and resolvable $refs.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile(repo.Path(t, "docs/openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Permission string            `json:"x-permission"`
			Security   *[]any            `json:"security"` // [] for a public route
			Parameters []json.RawMessage `json:"parameters"`
			Responses  map[string]any    `json:"responses"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}

	served := map[string]string{}
	a, err := New(context.Background(), loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Admin.Routes() {
		// OpenAPI has no multi-segment wildcard: {name...} is documented as {name}.
		served[strings.ToLower(r.Method)+" "+strings.ReplaceAll(r.Path, "...}", "}")] = r.Permission
	}
	public := map[string]bool{}
	for _, r := range a.Admin.PublicRoutes() { // served without a principal: documented with security []
		served[strings.ToLower(r.Method)+" "+r.Path] = ""
		public[strings.ToLower(r.Method)+" "+r.Path] = true
	}
	documented := map[string]string{}
	wildcard := regexp.MustCompile(`\{([A-Za-z]+)\}`)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := method + " " + path
			documented[key] = op.Permission
			switch isPublic := op.Security != nil && len(*op.Security) == 0; {
			case isPublic != public[key]:
				t.Errorf("%s: documented as public %v (security []), served without a principal %v", key, isPublic, public[key])
			case isPublic && op.Responses["200"] == nil:
				t.Errorf("%s: lacks a 200 response", key)
			case !isPublic && (op.Responses["200"] == nil || op.Responses["401"] == nil):
				t.Errorf("%s: lacks a 200 or 401 response", key)
			case !isPublic && (op.Responses["403"] == nil) != (op.Permission == ""):
				t.Errorf("%s: a 403 response is documented exactly when the route needs a permission (x-permission %q)", key, op.Permission)
			}
			if op.Responses["400"] == nil && len(op.Parameters) > 0 && !strings.Contains(path, "{asset}") {
				t.Errorf("%s: takes parameters but documents no 400", key)
			}
			var inPath []string
			for _, p := range op.Parameters {
				var ref struct {
					Ref string `json:"$ref"`
				}
				if err := json.Unmarshal(p, &ref); err != nil || !strings.HasPrefix(ref.Ref, "#/components/parameters/") {
					t.Errorf("%s: parameter %s is not a component reference", key, p)
					continue
				}
				c, ok := doc.Components.Parameters[strings.TrimPrefix(ref.Ref, "#/components/parameters/")]
				if !ok {
					t.Errorf("%s: unresolved %s", key, ref.Ref)
				}
				if c.In == "path" {
					inPath = append(inPath, c.Name)
				}
			}
			var want []string
			for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
				want = append(want, m[1])
			}
			sort.Strings(inPath)
			sort.Strings(want)
			if !slices.Equal(inPath, want) {
				t.Errorf("%s: path parameters %v, want %v", key, inPath, want)
			}
		}
	}
	for key, perm := range served {
		if got, ok := documented[key]; !ok {
			t.Errorf("served but not documented: %s", key)
		} else if got != perm {
			t.Errorf("%s: documented permission %q, served %q", key, got, perm)
		}
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			t.Errorf("documented but not served: %s", key)
		}
	}
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if doc.Components.Schemas[m[1]] == nil {
			t.Errorf("unresolved schema %s", m[1])
		}
	}
}
