package consistency

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
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
	var want []string
	for _, r := range auth.BuiltInRoles() {
		want = append(want, r.Name)
	}
	slices.Sort(want)
	if !slices.Equal(values, want) {
		t.Errorf("infra/app-roles.json roles %v, want the built-in role definitions %v", values, want)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(roles) {
		t.Errorf("infra/app-roles.json: role ids are not unique")
	}
}

// TestAzdServiceIsTheTaggedFunctionApp keeps azure.yaml's service name equal to the tag azd uses to
// find the function app, and the service a custom-language one deploying the packaged folder.
func TestAzdServiceIsTheTaggedFunctionApp(t *testing.T) {
	yaml := read(t, "azure.yaml")
	m := regexp.MustCompile(`(?m)^services:\n  ([\w-]+):\n((?:    .*\n|\n)*)`).FindStringSubmatch(yaml)
	if m == nil {
		t.Fatal("azure.yaml: no service under services:")
	}
	name, svc := m[1], m[2]
	for _, want := range []string{"host: function", "language: custom", "dist: dist"} {
		if !strings.Contains(svc, want) {
			t.Errorf("azure.yaml service %s lacks %q", name, want)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+prepackage:\n\s+shell: sh\n\s+run: make package LOCAL_SETTINGS=no$`).MatchString(svc) {
		t.Errorf("azure.yaml: service %s has no prepackage hook running `make package LOCAL_SETTINGS=no` to build dist/", name)
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

// TestEntraAppComesFromInfra keeps `azd up` free of manual Entra steps: infra/ creates the app
// registration Easy Auth validates (Microsoft Graph Bicep extension) with the roles of
// infra/app-roles.json, completes it after the function app exists, and hands its client ID to
// Easy Auth; the deployment guide asks for no `az ad app create` before `azd up`.
func TestEntraAppComesFromInfra(t *testing.T) {
	var cfg struct {
		Extensions map[string]string `json:"extensions"`
	}
	readJSON(t, "infra/bicepconfig.json", &cfg)
	if ref := cfg.Extensions["microsoftGraphV1"]; !strings.HasPrefix(ref, "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:") {
		t.Errorf("infra/bicepconfig.json: microsoftGraphV1 = %q, want the Microsoft Graph v1.0 extension", ref)
	}
	mod := read(t, "infra/modules/entra-app.bicep")
	for _, want := range []string{
		"extension microsoftGraphV1",
		"loadJsonContent('../app-roles.json')",
		"'Microsoft.Graph/applications@v1.0'",
		"'Microsoft.Graph/servicePrincipals@v1.0'",
		"appRoleAssignmentRequired: true",
		"r.value == '" + api.RoleAdmin + "'",
	} {
		if !strings.Contains(mod, want) {
			t.Errorf("infra/modules/entra-app.bicep lacks %s", want)
		}
	}
	main := read(t, "infra/main.bicep")
	passes := regexp.MustCompile(`(?m)^module (\w+) 'modules/entra-app.bicep' = if \(createAuthApp\)`).FindAllStringSubmatch(main, -1)
	if len(passes) != 2 {
		t.Fatalf("infra/main.bicep deploys modules/entra-app.bicep %d times, want 2 (create, then clients)", len(passes))
	}
	if clients := block(t, "\n"+main, "infra/main.bicep", passes[1][1]); !strings.Contains(clients, "withClients: true") ||
		!strings.Contains(clients, "app.outputs.url") {
		t.Errorf("infra/main.bicep: the second entra-app pass must set withClients and the app's callback URL")
	}
	if app := block(t, "\n"+main, "infra/main.bicep", "app"); !strings.Contains(app, "authClientId: effectiveClientId") {
		t.Errorf("infra/main.bicep: the function app's Easy Auth does not get the created app's client ID")
	}
	var params struct {
		Parameters map[string]struct {
			Value string `json:"value"`
		} `json:"parameters"`
	}
	readJSON(t, "infra/main.parameters.json", &params)
	if v := params.Parameters["authClientId"].Value; !strings.HasSuffix(v, "=}") {
		t.Errorf("infra/main.parameters.json authClientId = %q: it must default to empty so azd does not prompt for it", v)
	}
	if doc := read(t, "docs/deployment.md"); strings.Contains(doc, "az ad app create") {
		t.Errorf("docs/deployment.md still asks for `az ad app create`: infra/ creates the app registration")
	}
}
