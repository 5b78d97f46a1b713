package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// Subscriptions of the scoped role of these tests: its clusters/read reaches subA only.
const (
	whoSubA = "aaaaaaaa-1111-4111-8111-11111111111a"
	whoSubB = "bbbbbbbb-1111-4111-8111-11111111111b"
)

// scopedRegisterArgs is registerArgs (with --wait) for cluster id in subscription sub.
func scopedRegisterArgs(id, sub string) []string {
	args := append([]string(nil), registerArgs...)
	args[2] = id
	for i, a := range args {
		if a == "--subscription-id" {
			args[i+1] = sub
		}
	}
	return args
}

// TestWhoamiAndScopedWaitOnTheRunner: on the local runner, with a role whose reads are limited to
// subA, whoami shows that (its -o json is GET /me as served); register --wait for subB is refused
// before anything is sent (exit 3, naming the subscription and what to do), and for subA it
// waits and ends as always.
func TestWhoamiAndScopedWaitOnTheRunner(t *testing.T) {
	base := localrun.Start(t, &localrun.Options{Roles: []string{"Contoso registration"},
		RoleDefinitions: `[{"Name":"Contoso registration","Actions":["*/read","clusters/register","machines/reset"],"AssignableScopes":["/subscriptions/` + whoSubA + `"]}]`}).URL
	out, _ := cli(t, base, 0, "whoami", "-o", "json")
	if want := string(apiGet(t, base, "/me")); out != want {
		t.Errorf("whoami -o json = %q, want GET /me as served %q", out, want)
	}
	var me api.Me
	if err := json.Unmarshal([]byte(out), &me); err != nil {
		t.Fatal(err)
	}
	scoped := api.Grant{Subscriptions: []string{whoSubA}}
	want := api.Me{Principal: me.Principal, Roles: []string{"Contoso registration"}, Permissions: map[string]api.Grant{
		api.PermClustersRead: scoped, api.PermClustersRegister: scoped, api.PermMachinesReset: scoped}}
	if diff := cmp.Diff(want, me); diff != "" || me.Principal == "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
	out, _ = cli(t, base, 0, "whoami")
	for _, line := range []string{"Roles:              Contoso registration", "clusters/read        subscriptions " + whoSubA,
		"orphans/cleanup      -"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("whoami lacks %q:\n%s", line, out)
		}
	}

	const refused, allowed = "00000001-7777-4777-8777-000000000001", "00000002-7777-4777-8777-000000000002"
	_, stderr := cli(t, base, 3, append(scopedRegisterArgs(refused, whoSubB), "--timeout", "5s")...) // not a wait to --timeout
	for _, s := range []string{"NotPermitted", whoSubB, "nothing was sent", "without --wait", "--context"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("refused --wait: stderr lacks %q:\n%s", s, stderr)
		}
	}
	cli(t, base, 0, scopedRegisterArgs(allowed, whoSubA)...)
	// The queue is served in order: had the refused message been sent, it would have been handled
	// before the allowed one.
	if events := string(devGet(t, base, "/dev/events")); !strings.Contains(events, allowed) || strings.Contains(events, refused) {
		t.Errorf("events: want %s's and none of %s:\n%s", allowed, refused, events)
	}
}

// TestRegisterWaitRefusedUpFront: when GET /me shows clusters/read only elsewhere (or nowhere),
// register --wait asks nothing more and sends nothing: exit 3 with the subscription, where the
// caller does read, and what to do.
func TestRegisterWaitRefusedUpFront(t *testing.T) {
	for name, c := range map[string]struct{ me, where string }{
		"scoped elsewhere": {`{"principal":"uma@contoso.com","roles":["Reader.Here"],"permissions":{"clusters/read":{"all":false,"subscriptions":["` + whoSubA + `"]}}}`,
			"holds clusters/read only in subscriptions " + whoSubA},
		"no read at all": {`{"principal":"uma@contoso.com","roles":[],"permissions":{"clusters/unregister":{"all":true,"subscriptions":[]}}}`,
			"holds clusters/read nowhere"},
	} {
		var mu sync.Mutex
		var asked []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked = append(asked, r.Method+" "+r.URL.Path)
			mu.Unlock()
			w.Write([]byte(c.me))
		}))
		code, out, stderr := runCLI(t, App{}, srv.URL, append(scopedRegisterArgs(e2eCluster, whoSubB), "--timeout", "2s")...)
		srv.Close()
		if code != ExitAuth {
			t.Errorf("%s: exit %d, want %d", name, code, ExitAuth)
		}
		if diff := cmp.Diff([]string{"GET /api/v1/me"}, asked); diff != "" {
			t.Errorf("%s: requests (-want +got):\n%s", name, diff)
		}
		wantErr := `error: NotPermitted: --wait would never see this Register's outcome: "uma@contoso.com" ` + c.where +
			", not in subscription " + whoSubB + "; nothing was sent\n" +
			"what to do: send it without --wait (registrar status will not show it to you either), or use a context (--context) " +
			"whose roles grant clusters/read on subscription " + whoSubB + " (registrar whoami shows yours)\n"
		if diff := cmp.Diff(wantErr, stderr); diff != "" || out != "" {
			t.Errorf("%s: stdout %q, stderr (-want +got):\n%s", name, out, diff)
		}
	}
}

// TestWhoami: the table of a caller's permissions (every one of api.Permissions, "-" where none),
// -o json as received, and a service without GET /me (404) told apart from a failure (exit 1).
func TestWhoami(t *testing.T) {
	me := `{"principal":"uma@contoso.com","roles":["Reader.Here","Registrar.Operator"],"permissions":{` +
		`"clusters/read":{"all":true,"subscriptions":[]},"clusters/unregister":{"all":false,"subscriptions":["` + whoSubA + `","` + whoSubB + `"]}}}`
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/me" || r.Method != http.MethodGet {
			t.Errorf("asked %s %s", r.Method, r.URL.Path)
		}
		w.WriteHeader(status)
		w.Write([]byte(me))
	}))
	defer srv.Close()
	code, out, stderr := runCLI(t, App{}, srv.URL, "whoami")
	want := "Principal:          uma@contoso.com\n" +
		"Roles:              Reader.Here, Registrar.Operator\n\n" +
		"PERMISSION           WHERE\n" +
		"clusters/read        every cluster\n" +
		"clusters/register    -\n" +
		"clusters/unregister  subscriptions " + whoSubA + ", " + whoSubB + "\n" +
		"machines/reset       -\n" +
		"orphans/cleanup      -\n" +
		"deadletters/replay   -\n"
	if diff := cmp.Diff(want, out); diff != "" || code != 0 {
		t.Errorf("whoami: exit %d %s, output (-want +got):\n%s", code, stderr, diff)
	}
	if code, out, _ := runCLI(t, App{}, srv.URL, "whoami", "-o", "json"); code != 0 || out != me+"\n" {
		t.Errorf("whoami -o json: exit %d %q", code, out)
	}
	status, me = http.StatusNotFound, `{"type":"about:blank","title":"No such route","status":404,"code":"NotFound"}`
	code, _, stderr = runCLI(t, App{}, srv.URL, "whoami")
	if code != ExitFailed || !strings.Contains(stderr, "NotSupported") || !strings.Contains(stderr, "older than this command line") {
		t.Errorf("whoami on a service without /me: exit %d %q", code, stderr)
	}
}
