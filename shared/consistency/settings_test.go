package consistency

import (
	"maps"
	"slices"
	"testing"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
)

// eventsTopic is the topic's default name (docs/events.md, docs/settings.md).
const eventsTopic = "registration-events"

// defaultNames maps each entity-name setting to its SPEC default.
var defaultNames = map[string]string{
	config.EnvRegistrationQueue:  string(domain.QueueRegistrationRequests),
	config.EnvMachineEventsQueue: string(domain.QueueMachineEvents),
	config.EnvEventsTopic:        eventsTopic,
}

// hostSettings are read by the Functions host or the platform, not by shared/config.
var hostSettings = []string{
	"FUNCTIONS_WORKER_RUNTIME",
	"AzureWebJobsStorage",
	"AzureWebJobsStorage__accountName",
	"AzureWebJobsStorage__credential",
	"AzureWebJobsStorage__clientId",
	"APPLICATIONINSIGHTS_CONNECTION_STRING",
	"APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
	"ServiceBusConnection__credential", // the host's Service Bus trigger; the handler uses __clientId
}

// identitySettings are the identity-based alternatives used in Azure only, so the local sample
// does not carry them.
var identitySettings = []string{
	config.EnvStorageServiceURI,
	config.EnvStorageClientID,
	config.EnvServiceBusNamespace,
	config.EnvServiceBusClientID,
}

// load runs config.Load over env and records every setting name it reads.
func load(env map[string]string, read map[string]bool) (config.Config, error) {
	return config.Load(func(name string) string {
		read[name] = true
		return env[name]
	})
}

// settingsRead returns every setting shared/config reads, across a memory, a connection-string
// and an identity-based configuration (some settings are only read in one of them).
func settingsRead(t *testing.T) map[string]bool {
	t.Helper()
	read := map[string]bool{}
	for _, env := range []map[string]string{
		{config.EnvPort: "7071", config.EnvStorage: "memory"},
		{config.EnvPort: "7071", config.EnvStorage: config.DevelopmentStorage,
			config.EnvServiceBus: "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true"},
		{config.EnvPort: "7071", config.EnvStorageServiceURI: "https://acct.table.core.windows.net/",
			config.EnvStorageClientID:     "00000000-0000-0000-0000-000000000001",
			config.EnvServiceBusNamespace: "ns.servicebus.windows.net",
			config.EnvServiceBusClientID:  "00000000-0000-0000-0000-000000000001"},
	} {
		if _, err := load(env, read); err != nil {
			t.Fatalf("config.Load(%v): %v", env, err)
		}
	}
	return read
}

func TestDefaultEntityNamesAgree(t *testing.T) {
	cfg, err := load(map[string]string{config.EnvPort: "7071", config.EnvStorage: "memory"}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		config.EnvRegistrationQueue:  cfg.RegistrationRequestsQueue,
		config.EnvMachineEventsQueue: cfg.MachineEventsQueue,
		config.EnvEventsTopic:        cfg.EventsTopic,
	}
	if !maps.Equal(got, defaultNames) {
		t.Fatalf("shared/config defaults %v, want %v (domain constants and docs/settings.md)", got, defaultNames)
	}
}

func TestLocalSampleSettingsAgreeWithConfig(t *testing.T) {
	var sample struct {
		Values map[string]string `json:"Values"`
	}
	readJSON(t, "local.settings.sample.json", &sample)
	reads := settingsRead(t)

	env := maps.Clone(sample.Values)
	env[config.EnvPort] = "7071" // set by the host
	if _, err := load(env, reads); err != nil {
		t.Errorf("local.settings.sample.json does not load: %v", err)
	}
	for name, def := range defaultNames {
		if v := sample.Values[name]; v != def {
			t.Errorf("local.settings.sample.json %s = %q, want %q: the host has no default for %%%s%%", name, v, def, name)
		}
	}
	for name := range sample.Values {
		if !reads[name] && !slices.Contains(hostSettings, name) {
			t.Errorf("local.settings.sample.json sets %s, which neither shared/config nor the host reads", name)
		}
	}
	for name := range reads {
		if _, ok := sample.Values[name]; !ok && name != config.EnvPort && !slices.Contains(identitySettings, name) {
			t.Errorf("shared/config reads %s, missing from local.settings.sample.json", name)
		}
	}
}
