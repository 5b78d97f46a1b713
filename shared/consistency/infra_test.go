package consistency

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

// bicepVars returns main.bicep's string variables (var name = 'value').
func bicepVars(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^var (\w+) = '([^']*)'$`).FindAllStringSubmatch(read(t, "infra/main.bicep"), -1) {
		vars[m[1]] = m[2]
	}
	return vars
}

// resolve returns the value of a main.bicep variable, failing when it is not a string variable.
func resolve(t *testing.T, vars map[string]string, ident string) string {
	t.Helper()
	v, ok := vars[strings.TrimSpace(ident)]
	if !ok {
		t.Fatalf("infra/main.bicep: %q is not a string variable", ident)
	}
	return v
}

// appSettings returns the function app's app settings (name → Bicep expression).
func appSettings(t *testing.T) map[string]string {
	t.Helper()
	src := read(t, "infra/modules/functionapp.bicep")
	settings := map[string]string{}
	for _, m := range regexp.MustCompile(`\{ name: '([^']+)', value: (.+?) \}`).FindAllStringSubmatch(src, -1) {
		if _, dup := settings[m[1]]; dup {
			t.Errorf("infra/modules/functionapp.bicep sets %s twice", m[1])
		}
		settings[m[1]] = m[2]
	}
	if len(settings) == 0 {
		t.Fatal("infra/modules/functionapp.bicep: no app settings found ({ name: '…', value: … })")
	}
	return settings
}

// block returns the text of the Bicep resource or module declared with the symbolic name, up to
// the next top-level declaration.
func block(t *testing.T, src, file, symbol string) string {
	t.Helper()
	loc := regexp.MustCompile(`\n(resource|module) ` + regexp.QuoteMeta(symbol) + ` `).FindStringIndex(src)
	if loc == nil {
		t.Fatalf("%s: resource or module %s not found", file, symbol)
	}
	rest := src[loc[0]+1:]
	if end := regexp.MustCompile(`\n(resource|output|param|var|module) `).FindStringIndex(rest); end != nil {
		rest = rest[:end[0]]
	}
	return rest
}

func TestInfraAppSettingsAgreeWithConfig(t *testing.T) {
	settings := appSettings(t)
	reads := settingsRead(t)
	for name := range settings {
		if !reads[name] && !slices.Contains(hostSettings, name) {
			t.Errorf("infra sets %s, which neither shared/config nor the host reads", name)
		}
	}
	required := []string{
		config.EnvRegistrationQueue, config.EnvMachineEventsQueue, config.EnvEventsTopic,
		config.EnvStorageServiceURI, config.EnvStorageClientID,
		config.EnvServiceBusNamespace, config.EnvServiceBusClientID, "ServiceBusConnection__credential",
		"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
	}
	for _, name := range required {
		if _, ok := settings[name]; !ok {
			t.Errorf("infra does not set %s", name)
		}
	}
	// Secret-bearing forms must not be used: identity-based connections only.
	for _, name := range []string{config.EnvStorage, config.EnvServiceBus, "AzureWebJobsStorage"} {
		if _, ok := settings[name]; ok {
			t.Errorf("infra sets %s (a connection string); use its identity-based __ settings", name)
		}
	}
	for _, name := range []string{"AzureWebJobsStorage__credential", "ServiceBusConnection__credential"} {
		if v := settings[name]; v != "'managedidentity'" {
			t.Errorf("infra %s = %s, want 'managedidentity'", name, v)
		}
	}

	// Entity names: app setting → functionapp param → main.bicep module argument → main.bicep var.
	main := read(t, "infra/main.bicep")
	vars := bicepVars(t)
	app := block(t, "\n"+main, "infra/main.bicep", "app")
	for name, def := range defaultNames {
		param, ok := settings[name]
		if !ok {
			continue // reported above
		}
		m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(param) + `: (\w+)$`).FindStringSubmatch(app)
		if m == nil {
			t.Errorf("infra/main.bicep: module app does not pass %s (app setting %s)", param, name)
			continue
		}
		if v := resolve(t, vars, m[1]); v != def {
			t.Errorf("infra %s = %q, want %q", name, v, def)
		}
	}

	// The settings as deployed load, identity-based.
	env := map[string]string{config.EnvPort: "7071"}
	for name, expr := range settings {
		switch {
		case name == config.EnvStorageServiceURI:
			env[name] = "https://acct.table.core.windows.net/"
		case name == config.EnvServiceBusNamespace:
			env[name] = "ns.servicebus.windows.net"
		case strings.HasSuffix(name, "__clientId"):
			env[name] = "00000000-0000-0000-0000-000000000001"
		case slices.Contains(hostSettings, name):
		default:
			env[name] = resolveSetting(t, settings, app, vars, expr)
		}
	}
	cfg, err := load(env, map[string]bool{})
	if err != nil {
		t.Fatalf("the infra app settings do not load: %v", err)
	}
	if cfg.Storage.Kind != config.StorageServiceURI || cfg.Storage.ClientID == "" {
		t.Errorf("infra storage = %+v, want identity-based with a client ID", cfg.Storage)
	}
	if cfg.ServiceBus.FullyQualifiedNamespace == "" || cfg.ServiceBus.ConnectionString != "" || cfg.ServiceBus.ClientID == "" {
		t.Errorf("infra Service Bus = %+v, want identity-based with a client ID", cfg.ServiceBus)
	}
}

// resolveSetting turns a literal or a parameter passed from a main.bicep var into its value.
func resolveSetting(t *testing.T, settings map[string]string, app string, vars map[string]string, expr string) string {
	t.Helper()
	if strings.HasPrefix(expr, "'") && strings.HasSuffix(expr, "'") && !strings.Contains(expr, "${") {
		return strings.Trim(expr, "'")
	}
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(expr) + `: (\w+)$`).FindStringSubmatch(app)
	if m == nil {
		t.Fatalf("infra: cannot resolve app setting value %s", expr)
	}
	return resolve(t, vars, m[1])
}

func TestInfraServiceBusEntities(t *testing.T) {
	main := read(t, "infra/main.bicep")
	vars := bicepVars(t)
	sb := block(t, "\n"+main, "infra/main.bicep", "serviceBus")

	m := regexp.MustCompile(`queueNames: \[([^\]]*)\]`).FindStringSubmatch(sb)
	if m == nil {
		t.Fatal("infra/main.bicep: module serviceBus has no queueNames")
	}
	var queues []string
	for _, ident := range strings.Split(m[1], ",") {
		queues = append(queues, resolve(t, vars, ident))
	}
	slices.Sort(queues)
	want := []string{defaultNames[config.EnvMachineEventsQueue], defaultNames[config.EnvRegistrationQueue]}
	if !slices.Equal(queues, want) {
		t.Errorf("infra queues %v, want %v", queues, want)
	}
	m = regexp.MustCompile(`topicName: (\w+)`).FindStringSubmatch(sb)
	if m == nil || resolve(t, vars, m[1]) != eventsTopic {
		t.Errorf("infra topic is not %q", eventsTopic)
	}

	const file = "infra/modules/servicebus.bicep"
	src := read(t, file)
	queue := block(t, src, file, "queues")
	for _, want := range []string{
		"requiresDuplicateDetection: false", // SPEC correction: replay re-sends the original MessageId
		"maxDeliveryCount: 10",
		"deadLetteringOnMessageExpiration: true",
	} {
		if !strings.Contains(queue, want) {
			t.Errorf("%s: queues lack %q", file, want)
		}
	}
	if topic := block(t, src, file, "topic"); !strings.Contains(topic, "requiresDuplicateDetection: true") ||
		!strings.Contains(topic, "duplicateDetectionHistoryTimeWindow:") {
		t.Errorf("%s: the topic must keep duplicate detection on, with a history window", file)
	}
	if sub := block(t, src, file, "eventsSubscription"); !strings.Contains(sub, "requiresSession: true") {
		t.Errorf("%s: the example subscription must be sessions-enabled (SessionId = clusterId)", file)
	}
}

func TestInfraHasNoSecretsAndNoLocalAuth(t *testing.T) {
	forbidden := []string{"listKeys(", "listConnectionStrings(", "listAccountSas(", "AccountKey=", "SharedAccessKey=", "InstrumentationKey="}
	dir := filepath.Join(repo.Root(t), "infra")
	files := []string{filepath.Join(repo.Root(t), "azure.yaml")}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("infra/ is missing: %v", err)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(repo.Root(t), path)
		src := read(t, filepath.ToSlash(rel))
		for _, f := range forbidden {
			if strings.Contains(src, f) {
				t.Errorf("%s contains %q: use identity-based connections, never keys", rel, f)
			}
		}
	}
	for file, want := range map[string][]string{
		"infra/modules/servicebus.bicep": {"disableLocalAuth: true"},
		"infra/modules/storage.bicep":    {"allowSharedKeyAccess: false"},
		"infra/modules/monitoring.bicep": {"DisableLocalAuth: true"},
		"infra/modules/functionapp.bicep": {
			"'authsettingsV2'", "requireAuthentication: true", "unauthenticatedClientAction: 'Return401'",
			"azureActiveDirectory:", "runtime: { name: 'custom'",
		},
	} {
		src := read(t, file)
		for _, w := range want {
			if !strings.Contains(src, w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}

// Easy Auth lets through exactly the Admin API's public routes (the health probe), so an
// availability test reaches it without a token, and nothing else does.
func TestEasyAuthExcludesOnlyThePublicRoutes(t *testing.T) {
	const file = "infra/modules/functionapp.bicep"
	authBlock := block(t, read(t, file), file, "auth")
	m := regexp.MustCompile(`excludedPaths:\s*\[([^\]]*)\]`).FindStringSubmatch(authBlock)
	if m == nil {
		t.Fatalf("%s: authsettingsV2 has no globalValidation.excludedPaths", file)
	}
	var excluded []string
	for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		excluded = append(excluded, q[1])
	}
	var public []string
	for _, r := range admin.New(admin.Deps{}).PublicRoutes() {
		public = append(public, admin.Prefix+r.Path)
	}
	slices.Sort(excluded)
	slices.Sort(public)
	if len(public) == 0 || !slices.Equal(excluded, public) {
		t.Errorf("%s: Easy Auth excludes %v; the Admin API serves %v without a principal", file, excluded, public)
	}
}
