package consistency

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

type binding struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Direction  string   `json:"direction"`
	QueueName  string   `json:"queueName"`
	Connection string   `json:"connection"`
	Schedule   string   `json:"schedule"`
	AuthLevel  string   `json:"authLevel"`
	Route      string   `json:"route"`
	Methods    []string `json:"methods"`
}

type functionJSON struct {
	Bindings []binding `json:"bindings"`
}

// queueFunctions maps each Service Bus function (docs/architecture.md#functions) to the setting holding its queue name.
var queueFunctions = map[string]string{
	"RegistrationRequests": config.EnvRegistrationQueue,
	"MachineEvents":        config.EnvMachineEventsQueue,
}

// timerFunctions maps each timer function to its NCRONTAB schedule (docs/architecture.md#functions).
var timerFunctions = map[string]string{
	"PolicyExpiryCheck": "0 */5 * * * *",
	"OrphanSweep":       "0 0 * * * *",
	"OutboxRelay":       "0 * * * * *",
}

const serviceBusConnection = "ServiceBusConnection"

func loadFunction(t *testing.T, name string) functionJSON {
	t.Helper()
	var f functionJSON
	readJSON(t, "functions/"+name+"/function.json", &f)
	return f
}

// trigger returns the function's only "in" trigger binding.
func trigger(t *testing.T, name string, f functionJSON) binding {
	t.Helper()
	var found []binding
	for _, b := range f.Bindings {
		if strings.HasSuffix(b.Type, "Trigger") {
			found = append(found, b)
		}
	}
	if len(found) != 1 || found[0].Direction != "in" {
		t.Fatalf("functions/%s/function.json: want exactly one trigger binding with direction in, got %+v", name, found)
	}
	return found[0]
}

func TestFunctionFoldersAreExactlyTheSpecFunctions(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repo.Root(t), "functions"))
	if err != nil {
		t.Fatalf("functions/ is missing: %v", err)
	}
	var got []string
	for _, e := range entries {
		if e.IsDir() {
			got = append(got, e.Name())
		}
	}
	want := []string{"Admin"}
	for n := range queueFunctions {
		want = append(want, n)
	}
	for n := range timerFunctions {
		want = append(want, n)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("function folders = %v, want %v (docs/architecture.md#functions)", got, want)
	}
}

func TestQueueTriggersUseQueueSettingsAndConnection(t *testing.T) {
	for name, setting := range queueFunctions {
		b := trigger(t, name, loadFunction(t, name))
		if b.Type != "serviceBusTrigger" || b.Name != "message" {
			t.Errorf("%s: trigger %s named %q, want serviceBusTrigger named message", name, b.Type, b.Name)
		}
		if want := "%" + setting + "%"; b.QueueName != want {
			t.Errorf("%s: queueName %q, want %q", name, b.QueueName, want)
		}
		if b.Connection != serviceBusConnection || config.EnvServiceBus != serviceBusConnection {
			t.Errorf("%s: connection %q, config reads %q, want both %q", name, b.Connection, config.EnvServiceBus, serviceBusConnection)
		}
	}
}

func TestTimerSchedulesMatchSpec(t *testing.T) {
	for name, schedule := range timerFunctions {
		b := trigger(t, name, loadFunction(t, name))
		if b.Type != "timerTrigger" || b.Name != "timer" {
			t.Errorf("%s: trigger %s named %q, want timerTrigger named timer", name, b.Type, b.Name)
		}
		if b.Schedule != schedule {
			t.Errorf("%s: schedule %q, want %q (docs/architecture.md#functions)", name, b.Schedule, schedule)
		}
	}
}

func TestAdminIsAnonymousHTTPBehindEasyAuth(t *testing.T) {
	f := loadFunction(t, "Admin")
	b := trigger(t, "Admin", f)
	if b.Type != "httpTrigger" || b.Name != "req" {
		t.Errorf("Admin: trigger %s named %q, want httpTrigger named req", b.Type, b.Name)
	}
	if b.AuthLevel != "anonymous" {
		t.Errorf("Admin: authLevel %q, want anonymous (Easy Auth is in front, SPEC corrections)", b.AuthLevel)
	}
	if b.Route != "v1/{*path}" {
		t.Errorf("Admin: route %q, want v1/{*path}", b.Route)
	}
	methods := slices.Clone(b.Methods)
	for i := range methods {
		methods[i] = strings.ToLower(methods[i])
	}
	slices.Sort(methods)
	if !slices.Equal(methods, []string{"delete", "get", "post"}) {
		t.Errorf("Admin: methods %v, want GET, POST, DELETE", b.Methods)
	}
	if !slices.ContainsFunc(f.Bindings, func(b binding) bool {
		return b.Type == "http" && b.Direction == "out" && b.Name == "res"
	}) {
		t.Errorf("Admin: no http output binding named res")
	}
}

func TestHostJSONRunsTheHandlerBinary(t *testing.T) {
	var h struct {
		Version         string `json:"version"`
		ExtensionBundle struct {
			ID string `json:"id"`
		} `json:"extensionBundle"`
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
			EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	readJSON(t, "host.json", &h)
	if h.Version != "2.0" {
		t.Errorf("host.json version %q, want 2.0", h.Version)
	}
	if h.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" {
		t.Errorf("host.json extensionBundle %q: the Service Bus trigger needs the Functions extension bundle", h.ExtensionBundle.ID)
	}
	if h.CustomHandler.Description.DefaultExecutablePath != "handler" {
		t.Errorf("host.json customHandler path %q, want handler (the binary packaged flat next to host.json)", h.CustomHandler.Description.DefaultExecutablePath)
	}
	// Admin is served directly (docs/architecture.md): hosts that know proxying use it, older
	// ones forwarding; each ignores the key it does not know.
	if !h.CustomHandler.EnableForwardingHTTPRequest || !h.CustomHandler.EnableProxyingHTTPRequest {
		t.Errorf("host.json customHandler: enableForwardingHttpRequest %v, enableProxyingHttpRequest %v; want both true",
			h.CustomHandler.EnableForwardingHTTPRequest, h.CustomHandler.EnableProxyingHTTPRequest)
	}
	if p := h.Extensions.HTTP.RoutePrefix; p != nil && *p != "api" {
		t.Errorf("host.json routePrefix %q, want api (the Admin API lives under /api/v1)", *p)
	}
}

// The host forwards or proxies only a function with exactly one input binding, an httpTrigger,
// and exactly one output binding, an http one (docs/architecture.md, "What the host really
// does"): one more binding on Admin would silently put it back on the envelope form.
func TestAdminQualifiesForProxying(t *testing.T) {
	f := loadFunction(t, "Admin")
	var in, out []string
	for _, b := range f.Bindings {
		switch strings.ToLower(b.Direction) {
		case "in":
			in = append(in, b.Type)
		case "out":
			out = append(out, b.Type)
		default:
			t.Errorf("Admin: binding %s has direction %q", b.Name, b.Direction)
		}
	}
	if !slices.Equal(in, []string{"httpTrigger"}) || !slices.Equal(out, []string{"http"}) {
		t.Errorf("Admin: inputs %v, outputs %v; want exactly [httpTrigger] and [http], or the host will not proxy it", in, out)
	}
}
