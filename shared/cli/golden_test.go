package cli

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixedNow is the clock of the golden tests.
var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const c1 = "6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11"

// canned are the fake Admin API's answers, by request URI.
var canned = map[string]string{
	"/api/v1/clusters/" + c1: `{"clusterId":"` + c1 + `","clusterName":"hci-01","resourceId":"/subscriptions/0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f/resourceGroups/hci-01-rg/providers/Microsoft.AzureStackHCI/clusters/hci-01","cloud":"AzureCloud","region":"eastus",
"subscriptionId":"0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","resourceGroup":"hci-01-rg","resourceName":"hci-01","arcResourceGroup":"hci-01-rg","appIdentities":["hci-01","hci-01.arc"],
"registrationStatus":"Registered","clusterStatus":"Clustered","connectionStatus":"Disconnected","silenceHeld":true,"lastConnected":"2026-11-23T09:00:00Z","registeredAt":"2026-10-01T08:00:00Z","arcIntegration":"Enabled",
"credentialExpiresAt":"2026-11-20T00:00:00Z","credentialExpired":true,"orphan":"None",
"deadlines":[{"clusterId":"` + c1 + `","policy":"Connection","deadline":"2026-12-23T09:00:00Z","action":"Restore connectivity: the cluster must sync within 30 days."}],
"nodes":[{"name":"node1","registrationStatus":"Registered","connectionStatus":"Disconnected","arcStatus":"Enabled","arcAgentVersion":"1.45","osVersion":"2508","biosConfigHash":"a1","lastSync":"2026-11-23T09:00:00Z",
"reset":{"operationId":"op-1","machine":"node1","status":"InProgress","stages":[],"startedAt":"2026-11-25T11:58:00Z","lastHeardAt":"2026-11-25T11:59:00Z"}},
{"name":"node2","registrationStatus":"Registered","connectionStatus":"OutOfPolicy","arcStatus":"Enabled","osVersion":"10.0.25398.1189","osRelease":"23H2","biosConfigHash":"b2","lastSync":null}]}`,
	"/api/v1/clusters":                              `{"items":[{"clusterId":"` + c1 + `","clusterName":"hci-01","region":"eastus","registrationStatus":"Registered","clusterStatus":"Clustered","connectionStatus":"Disconnected","arcIntegration":"Enabled","orphan":"None","credentialExpired":true,"registeredAt":"2026-10-01T08:00:00Z"}],"nextCursor":"p2"}`,
	"/api/v1/clusters?cursor=p2":                    `{"items":[{"clusterId":"0a9c8e1d-1111-4c8e-9a43-0f6f7d3c2a12","clusterName":"edge-lab","registrationStatus":"OutOfPolicy","clusterStatus":"NotYet","connectionStatus":"NotYet","orphan":"Suspected"}]}`,
	"/api/v1/clusters/" + c1 + "/history":           `{"items":[{"at":"2026-10-01T08:00:00Z","what":"registrationStatus","before":"NotYet","after":"Registered","cause":"Register","messageId":"m-1"},{"at":"2026-11-24T09:00:00Z","what":"connectionStatus","before":"Connected","after":"Disconnected","cause":"PolicyExpiryCheck"}],"nextCursor":"h2"}`,
	"/api/v1/clusters/" + c1 + "/history?cursor=h2": `{"items":[{"at":"2026-11-25T11:58:00Z","what":"node node1 reset","after":"InProgress","cause":"POST /machines/{clusterId}/{machine}/reset","principal":"ops@contoso.com"}]}`,
	"/api/v1/machines/" + c1 + "/node1/reset": `{"clusterId":"` + c1 + `","machine":"node1","operationId":"op-1","status":"Failed","stages":[{"name":"ExtensionCleanup","status":"Succeeded","updatedAt":"2026-11-25T11:58:30Z"},{"name":"GatewayCleanup","status":"Failed","updatedAt":"2026-11-25T11:59:00Z"},{"name":"AzcmAgentCleanup","status":"NotStarted"},{"name":"BootstrapCleanup","status":"NotStarted"}],
"startedAt":"2026-11-25T11:58:00Z","lastHeardAt":"2026-11-25T11:59:00Z","completedAt":"2026-11-25T11:59:00Z","elapsed":"1m0s","elapsedSeconds":60,"error":"gateway unreachable"}`,
	"/api/v1/policy/upcoming?within=7d":  `{"items":[{"clusterId":"` + c1 + `","clusterName":"hci-01","policy":"Credential","deadline":"2026-11-26T00:00:00Z","action":"Run RepairRegistration with a new SPN credential."}]}`,
	"/api/v1/orphans":                    `{"items":[{"clusterId":"0a9c8e1d-1111-4c8e-9a43-0f6f7d3c2a12","clusterName":"edge-lab","reason":"Silent","graceUntil":"2026-11-30T12:00:00Z","plan":{"clusterId":"0a9c8e1d-1111-4c8e-9a43-0f6f7d3c2a12","reason":"OrphanCleanup","disableOnlyArc":false,"steps":[{"step":1,"artifact":{"kind":"ArcAppIdentity","name":"edge-lab.arc","condition":"Always"}},{"step":3,"artifact":{"kind":"ClusterResource","name":"edge-lab","condition":"Always"}}]}}]}`,
	"/api/v1/rejections":                 `{"items":[{"at":"2026-11-25T10:00:00Z","messageId":"m-9","messageType":"Register","clusterId":"` + c1 + `","code":"ResourceExistsInDifferentRegion","number":9104,"reason":"The cluster is registered in eastus."}]}`,
	"/api/v1/deadletters/machine-events": `{"items":[{"messageId":"m-7","reason":"MaxDeliveryCountExceeded","description":"10 deliveries failed","deliveryCount":10,"enqueuedTime":"2026-11-25T06:00:00Z","sequenceNumber":3,"preview":"{\"type\":\"Sync\"}"}]}`,
}

func fakeAPI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := canned[r.URL.RequestURI()]
		if !ok || r.Method != http.MethodGet {
			w.WriteHeader(404)
			w.Write([]byte(`{"code":"NotFound","title":"Not found"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGoldenTables(t *testing.T) {
	srv := fakeAPI(t)
	for name, args := range map[string][]string{
		"status":       {"status", c1},
		"list":         {"list"},
		"history":      {"history", c1},
		"reset_status": {"reset", "status", c1, "node1"},
		"upcoming":     {"upcoming"},
		"orphans":      {"orphans"},
		"rejections":   {"rejections"},
		"deadletters":  {"deadletters", "machine-events"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, color := range []bool{false, true} {
				file := filepath.Join("testdata", name+".golden")
				if color {
					file = filepath.Join("testdata", name+".color.golden")
				}
				code, out, stderr := runCLI(t, App{Now: func() time.Time { return fixedNow }, StdoutTerminal: color}, srv.URL, args...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if *update {
					if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if out != string(want) {
					t.Errorf("%s: output differs from %s:\n%s", name, file, out)
				}
			}
		})
	}
}

func TestNoColorEnvAndFlag(t *testing.T) {
	srv := fakeAPI(t)
	now := func() time.Time { return fixedNow }
	want, _ := os.ReadFile(filepath.Join("testdata", "list.golden"))
	env := map[string]string{"REGISTRAR_ENDPOINT": srv.URL, "NO_COLOR": "1"}
	if _, out, _ := runCLI(t, App{Now: now, StdoutTerminal: true, Getenv: func(k string) string { return env[k] }}, srv.URL, "list"); out != string(want) {
		t.Errorf("NO_COLOR on a terminal still coloured:\n%q", out)
	}
	if _, out, _ := runCLI(t, App{Now: now, StdoutTerminal: true}, srv.URL, "list", "--no-color"); out != string(want) {
		t.Errorf("--no-color on a terminal still coloured:\n%q", out)
	}
}

// TestJSONMergesPages checks -o json: single answers unchanged, lists as one {"items":[...]}
// holding every page's items in order.
func TestJSONMergesPages(t *testing.T) {
	srv := fakeAPI(t)
	_, out, _ := runCLI(t, App{}, srv.URL, "status", c1, "-o", "json")
	if out != canned["/api/v1/clusters/"+c1]+"\n" {
		t.Errorf("status -o json changed the API's answer:\n%s", out)
	}
	_, out, _ = runCLI(t, App{}, srv.URL, "list", "-o", "json")
	var got, p1, p2 struct{ Items []map[string]any }
	for s, v := range map[string]any{out: &got, canned["/api/v1/clusters"]: &p1, canned["/api/v1/clusters?cursor=p2"]: &p2} {
		if err := json.Unmarshal([]byte(s), v); err != nil {
			t.Fatal(err)
		}
	}
	if want := append(p1.Items, p2.Items...); !reflect.DeepEqual(got.Items, want) {
		t.Errorf("list -o json = %v, want both pages %v", got.Items, want)
	}
}
