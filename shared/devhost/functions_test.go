package devhost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeApp lays out a function app folder: host.json and one function.json per entry.
func writeApp(t testing.TB, fns map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(`{"version":"2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, doc := range fns {
		dir := filepath.Join(root, "functions", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// testApp mirrors the project's six functions (docs/architecture.md, Functions).
var testApp = map[string]string{
	"Admin":                `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","route":"v1/{*path}","methods":["get","post","delete"]},{"name":"res","type":"http","direction":"out"}]}`,
	"RegistrationRequests": `{"bindings":[{"name":"message","type":"serviceBusTrigger","direction":"in","queueName":"%RegistrationRequestsQueue%","connection":"ServiceBusConnection"}]}`,
	"MachineEvents":        `{"bindings":[{"name":"message","type":"serviceBusTrigger","direction":"in","queueName":"%MachineEventsQueue%","connection":"ServiceBusConnection"}]}`,
	"PolicyExpiryCheck":    `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 */5 * * * *"}]}`,
	"OrphanSweep":          `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 0 * * * *"}]}`,
	"OutboxRelay":          `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 * * * * *"}]}`,
}

func testEnv(k string) string {
	return map[string]string{"RegistrationRequestsQueue": "registration-requests", "MachineEventsQueue": "machine-events"}[k]
}

func TestLoadFunctions(t *testing.T) {
	root := writeApp(t, testApp)
	sub := filepath.Join(root, "functions", "Admin")
	found, err := FindRoot(sub)
	if err != nil || found != root {
		t.Fatalf("FindRoot(%s) = %q, %v; want %q", sub, found, err, root)
	}
	fns, err := LoadFunctions(root, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Function{}
	for _, f := range fns {
		got[f.Name] = f
	}
	if len(got) != 6 {
		t.Fatalf("loaded %d functions, want 6", len(got))
	}
	if a := got["Admin"]; a.Trigger != HTTPTrigger || a.Binding != "req" || a.Output != "res" || a.Route != "v1/{*path}" || strings.Join(a.Methods, ",") != "GET,POST,DELETE" {
		t.Errorf("Admin = %+v", a)
	}
	if r := got["RegistrationRequests"]; r.Trigger != ServiceBusTrigger || r.Queue != "registration-requests" || r.Binding != "message" {
		t.Errorf("RegistrationRequests = %+v", r)
	}
	if p := got["PolicyExpiryCheck"]; p.Trigger != TimerTrigger || p.schedule == nil {
		t.Errorf("PolicyExpiryCheck = %+v", p)
	}
}

func TestLoadFunctionsReportsEveryProblem(t *testing.T) {
	root := writeApp(t, map[string]string{
		"Q":    `{"bindings":[{"name":"message","type":"serviceBusTrigger","queueName":"%Unset%"}]}`,
		"T":    `{"bindings":[{"name":"timer","type":"timerTrigger","schedule":"*/5 * * * *"}]}`,
		"Good": `{"bindings":[{"name":"timer","type":"timerTrigger","schedule":"0 * * * * *"}]}`,
	})
	_, err := LoadFunctions(root, testEnv)
	if err == nil {
		t.Fatal("LoadFunctions accepted an unset setting and a five-field schedule")
	}
	for _, want := range []string{"%Unset%", "5 fields"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
