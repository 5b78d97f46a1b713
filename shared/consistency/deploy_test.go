package consistency

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestAppRolesAreTheSpecRoles(t *testing.T) {
	var roles []struct {
		ID        string `json:"id"`
		Value     string `json:"value"`
		IsEnabled bool   `json:"isEnabled"`
	}
	readJSON(t, "infra/app-roles.json", &roles)
	var values, ids []string
	for _, r := range roles {
		if !r.IsEnabled {
			t.Errorf("infra/app-roles.json: %s is disabled", r.Value)
		}
		values = append(values, r.Value)
		ids = append(ids, strings.ToLower(r.ID))
	}
	slices.Sort(values)
	if want := []string{"Registrar.Admin", "Registrar.Operator", "Registrar.Reader"}; !slices.Equal(values, want) {
		t.Errorf("infra/app-roles.json roles %v, want %v (SPEC §8)", values, want)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(roles) {
		t.Errorf("infra/app-roles.json: role ids are not unique")
	}
}

// TestAzdServiceIsTheTaggedFunctionApp keeps azure.yaml's service name equal to the tag azd uses to
// find the function app, and the service pointed at the packaged folder.
func TestAzdServiceIsTheTaggedFunctionApp(t *testing.T) {
	yaml := read(t, "azure.yaml")
	m := regexp.MustCompile(`(?m)^services:\n  ([\w-]+):\n((?:    .*\n|\n)*)`).FindStringSubmatch(yaml)
	if m == nil {
		t.Fatal("azure.yaml: no service under services:")
	}
	name, svc := m[1], m[2]
	for _, want := range []string{"host: function", "project: ./dist"} {
		if !strings.Contains(svc, want) {
			t.Errorf("azure.yaml service %s lacks %q", name, want)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+run: make package$`).MatchString(yaml) {
		t.Errorf("azure.yaml: no hook runs `make package` to build dist/")
	}
	app := read(t, "infra/modules/functionapp.bicep")
	if !strings.Contains(app, "'azd-service-name': '"+name+"'") {
		t.Errorf("infra/modules/functionapp.bicep: the site is not tagged azd-service-name %q", name)
	}
}

// TestDeploymentDocNamesTheOutputs keeps docs/deployment.md true to main.bicep's outputs and to the
// parameters azd asks for.
func TestDeploymentDocNamesTheOutputs(t *testing.T) {
	doc := read(t, "docs/deployment.md")
	for _, m := range regexp.MustCompile(`(?m)^output (\w+) `).FindAllStringSubmatch(read(t, "infra/main.bicep"), -1) {
		if m[1] != "AZURE_LOCATION" && !strings.Contains(doc, m[1]) {
			t.Errorf("docs/deployment.md does not mention the output %s", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\$\{(\w+)=?\}`).FindAllStringSubmatch(read(t, "infra/main.parameters.json"), -1) {
		if !strings.HasPrefix(m[1], "AZURE_") && !strings.Contains(doc, m[1]) {
			t.Errorf("docs/deployment.md does not say how to set %s", m[1])
		}
	}
}
