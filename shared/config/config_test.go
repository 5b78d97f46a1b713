package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{EnvPort: "7072", EnvStorage: "memory"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7072 || c.Storage.Kind != StorageMemory || c.ServiceBus.Configured() {
		t.Fatalf("got %+v", c)
	}
	if c.RegistrationRequestsQueue != "registration-requests" || c.MachineEventsQueue != "machine-events" || c.EventsTopic != "registration-events" {
		t.Fatalf("names %q %q %q", c.RegistrationRequestsQueue, c.MachineEventsQueue, c.EventsTopic)
	}
	def := domain.DefaultPolicy()
	if c.Policy.RegisterWindow != def.RegisterWindow || len(c.Policy.Regions) != len(def.Regions) || c.AuthEnabled {
		t.Fatalf("policy %+v", c.Policy)
	}
}

func TestLoadEverything(t *testing.T) {
	c, err := Load(env(map[string]string{
		EnvPort:                        "8080",
		EnvStorageServiceURI:           "https://acct.table.core.windows.net",
		EnvStorageClientID:             "cid",
		EnvServiceBusNamespace:         "ns.servicebus.windows.net",
		EnvServiceBusClientID:          "sbcid",
		EnvRegistrationQueue:           "rr",
		EnvMachineEventsQueue:          "me",
		EnvEventsTopic:                 "ev",
		"Policy__RegisterWindow":       "48h",
		"Policy__ClusterWindow":        "49h",
		"Policy__OfflineWindow":        "50h",
		"Policy__ConnectedWindow":      "2h",
		"Policy__SyncInterval":         "1h",
		"Policy__WarnBefore":           "10h, 1h",
		"Policy__CredentialWarnBefore": "5h",
		"Orphan__SilenceWindow":        "100h",
		"Orphan__Grace":                "3h",
		"Reset__StallAfter":            "30m",
		EnvRegions:                     "East US, westeurope",
		EnvRoleDefinitions:             `[{"Name":"X","Actions":["*"]}]`,
		EnvAuthEnabled:                 "True",
		EnvCursorKey:                   "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0=, b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CursorKeys) != 2 || string(c.CursorKeys[0]) != "new-key-new-key-new-key-new-key-" || string(c.CursorKeys[1]) != "old-key-old-key-old-key-old-key-" {
		t.Fatalf("cursor keys %q, want the new then the old", c.CursorKeys)
	}
	p := c.Policy
	if p.RegisterWindow != 48*time.Hour || p.ClusterWindow != 49*time.Hour || p.OfflineWindow != 50*time.Hour ||
		p.ConnectedWindow != 2*time.Hour || p.SyncInterval != time.Hour || p.OrphanSilence != 100*time.Hour ||
		p.OrphanGrace != 3*time.Hour || p.ResetStallAfter != 30*time.Minute {
		t.Fatalf("policy %+v", p)
	}
	if len(p.WarnBefore) != 2 || p.WarnBefore[1] != time.Hour || len(p.CredentialWarnBefore) != 1 {
		t.Fatalf("warn %v %v", p.WarnBefore, p.CredentialWarnBefore)
	}
	if strings.Join(p.Regions, ",") != "eastus,westeurope" {
		t.Fatalf("regions %v", p.Regions)
	}
	if c.Storage.Kind != StorageServiceURI || c.Storage.ClientID != "cid" || c.ServiceBus.FullyQualifiedNamespace != "ns.servicebus.windows.net" || c.ServiceBus.ClientID != "sbcid" {
		t.Fatalf("conn %+v %+v", c.Storage, c.ServiceBus)
	}
	if c.RegistrationRequestsQueue != "rr" || c.MachineEventsQueue != "me" || c.EventsTopic != "ev" || !c.AuthEnabled || len(c.Roles) != 1 || c.Roles[0].Name != "X" {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadConnectionStrings(t *testing.T) {
	for _, s := range []string{
		"UseDevelopmentStorage=true",
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
		"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
	} {
		c, err := Load(env(map[string]string{EnvPort: "1", EnvStorage: s,
			EnvServiceBus: "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true"}))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if c.Storage.Kind != StorageConnection || c.Storage.ConnectionString != s || !c.ServiceBus.Configured() {
			t.Fatalf("got %+v", c)
		}
	}
}

// Every bad setting is named in one error, and no secret is echoed.
func TestLoadReportsEveryProblemWithoutSecrets(t *testing.T) {
	_, err := Load(env(map[string]string{
		EnvPort:                        "http",
		EnvStorage:                     "AccountKey=SUPERSECRET",
		EnvServiceBus:                  "Endpoint=https://x;SharedAccessKey=SBSECRET",
		"Policy__RegisterWindow":       "30d",
		"Policy__WarnBefore":           "1h,x",
		"Orphan__Grace":                "-1h",
		"Policy__OfflineWindow":        "2000000h", // 228 years: deadlines past what a due key holds
		"Policy__CredentialWarnBefore": "24h,1000000h",
		EnvCursorKey:                   "c2hvcnRTRUNSRVQ=", // "shortSECRET": too short
		EnvAuthEnabled:                 "maybe",
		EnvEventsTopic:                 "a b",
		EnvRoleDefinitions:             `[{"Name":"Registrar.Reader","Actions":["*/read"]}]`,
	}))
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, name := range []string{EnvPort, EnvStorage, EnvServiceBus, "Policy__RegisterWindow", "Policy__WarnBefore", "Orphan__Grace",
		"Policy__OfflineWindow", "Policy__CredentialWarnBefore", EnvCursorKey, EnvAuthEnabled, EnvEventsTopic, EnvRoleDefinitions} {
		if !strings.Contains(msg, name+" ") {
			t.Errorf("error does not name %s: %s", name, msg)
		}
	}
	if strings.Contains(msg, "SECRET") || strings.Contains(msg, "c2hvcnRTRUNSRVQ") {
		t.Errorf("error echoes a secret: %s", msg)
	}
}

func TestLoadRequiresPortAndStorage(t *testing.T) {
	_, err := Load(env(nil))
	if err == nil || !strings.Contains(err.Error(), EnvPort) || !strings.Contains(err.Error(), EnvStorage) {
		t.Fatalf("got %v", err)
	}
}

// TestRoleDefinitionsReadOnce: Load reads the RoleDefinitions file and hands the parsed roles,
// scopes included, to the authorizer; nothing reads the setting again (the file may go away).
func TestRoleDefinitionsReadOnce(t *testing.T) {
	const sub = "aaaaaaaa-0000-4000-8000-000000000001"
	path := filepath.Join(t.TempDir(), "roles.json")
	roles := `[{"Name":"HCI registration","Actions":["*/read"],"AssignableScopes":["/subscriptions/` + sub + `"]}]`
	if err := os.WriteFile(path, []byte(roles), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{EnvPort: "7072", EnvStorage: "memory", EnvRoleDefinitions: path}))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{EasyAuthEnabled: true, Roles: c.Roles})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Scope(auth.Principal{Name: "p", Roles: []string{"HCI registration"}}, api.PermClustersRead)
	if diff := cmp.Diff(domain.InSubscriptions(sub), got); diff != "" {
		t.Errorf("scope of the file's role (-want +got):\n%s", diff)
	}
}
