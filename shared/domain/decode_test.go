package domain

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	tGUID  = "0B5C5D6E-1111-4A2B-9C3D-AABBCCDDEEFF"
	tGUID2 = "22222222-2222-4222-8222-222222222222"
)

func TestDecodeProblems(t *testing.T) {
	reg := `{"type":"Register","clusterId":"` + tGUID + `","clusterName":"hci-01","tenantId":"` + tGUID2 + `","subscriptionId":"` + tGUID2 + `","region":"East US","nodes":[{"name":"node1"}]%s}`
	cases := []struct {
		name              string
		queue             QueueKind
		body, code, field string
	}{
		{"not json", QueueRegistrationRequests, `{"type":`, CodeMalformedMessage, ""},
		{"array", QueueRegistrationRequests, `[1]`, CodeMalformedMessage, ""},
		{"two objects", QueueRegistrationRequests, `{} {}`, CodeMalformedMessage, ""},
		{"null", QueueRegistrationRequests, `null`, CodeMalformedMessage, ""},
		{"no type", QueueRegistrationRequests, `{}`, CodeInvalidField, "type"},
		{"type not string", QueueRegistrationRequests, `{"type":3}`, CodeInvalidField, "type"},
		{"unknown type", QueueRegistrationRequests, `{"type":"Explode"}`, CodeUnknownMessageType, ""},
		{"wrong queue", QueueMachineEvents, `{"type":"Register"}`, CodeUnknownMessageType, ""},
		{"bad guid", QueueRegistrationRequests, `{"type":"Unregister","clusterId":"nope"}`, CodeInvalidField, "clusterId"},
		{"bool wrong type", QueueRegistrationRequests, `{"type":"Unregister","clusterId":"` + tGUID + `","disableOnlyArc":"yes"}`, CodeInvalidField, "disableOnlyArc"},
		{"bad node name", QueueRegistrationRequests, strings.Replace(reg, `[{"name":"node1"}]`, `[{"name":"a"},{"name":"b"},{"name":"bad_name"}]`, 1), CodeInvalidField, "nodes[2].name"},
		{"duplicate node", QueueRegistrationRequests, strings.Replace(reg, `[{"name":"node1"}]`, `[{"name":"a"},{"name":"A"}]`, 1), CodeInvalidField, "nodes[1].name"},
		{"bad spn time", QueueRegistrationRequests, strings.Replace(reg, "%s", `,"arcSpn":{"appId":"`+tGUID+`","credentialExpiresAt":"tomorrow"}`, 1), CodeInvalidField, "arcSpn.credentialExpiresAt"},
		{"bad os", QueueRegistrationRequests, strings.Replace(reg, "%s", `,"osVersion":"win95"`, 1), CodeInvalidField, "osVersion"},
		{"no region", QueueRegistrationRequests, strings.Replace(reg, `"region":"East US",`, ``, 1), CodeInvalidField, "region"},
		{"too many nodes", QueueRegistrationRequests, strings.Replace(reg, `[{"name":"node1"}]`, `[`+strings.TrimSuffix(strings.Repeat(`{"name":"n"},`, 17), ",")+`]`, 1), CodeTooManyNodes, ""},
		{"bad time", QueueMachineEvents, `{"type":"MachineInstalled","machine":"n1","installedAt":"2026-13-01"}`, CodeInvalidField, "installedAt"},
		{"bad machine", QueueMachineEvents, `{"type":"Sync","clusterId":"` + tGUID + `","machine":"` + strings.Repeat("x", 64) + `"}`, CodeInvalidField, "machine"},
		{"bad stage", QueueMachineEvents, `{"type":"ResetProgress","operationId":"op1","machine":"n1","stage":"Other","status":"InProgress"}`, CodeInvalidField, "stage"},
		{"cluster nodes", QueueMachineEvents, `{"type":"ClusterCreated","clusterId":"` + tGUID + `","nodes":["ok",7]}`, CodeInvalidField, "nodes[1]"},
		{"too large", QueueMachineEvents, `{"type":"Sync","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, CodeMessageTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(tc.body, "%s", "", 1)
			_, err := Decode(tc.queue, []byte(body))
			p, ok := AsProblem(err)
			if !ok {
				t.Fatalf("Decode = %v, want a Problem %s", err, tc.code)
			}
			if p.Code != tc.code || p.Field != tc.field {
				t.Fatalf("Decode = %s field %q, want %s field %q", p.Code, p.Field, tc.code, tc.field)
			}
		})
	}
}

func TestDecodeRegister(t *testing.T) {
	body := `{"type":"Register","clusterId":"` + tGUID + `","clusterName":"hci-01","tenantId":"` + tGUID2 + `","subscriptionId":"` + tGUID2 + `","region":"East US","extra":{"ignored":true},"osVersion":"23h2","createResourceGroup":true,"nodes":[{"name":"node1","biosConfigHash":"h1"}],"arcSpn":{"appId":"` + tGUID + `","credentialExpiresAt":"2027-11-01T00:00:00Z"}}`
	m, err := Decode(QueueRegistrationRequests, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := m.(Register)
	if r.ClusterID != strings.ToLower(tGUID) || r.ClusterKey() != strings.ToLower(tGUID) {
		t.Errorf("cluster ID %q not lower-cased", r.ClusterID)
	}
	if r.OSVersion != "23H2" || !r.CreateResourceGroup || len(r.Nodes) != 1 || r.Nodes[0].BiosConfigHash != "h1" {
		t.Errorf("decoded %+v", r)
	}
	if r.ArcSPN == nil || r.ArcSPN.CredentialExpiresAt.Year() != 2027 {
		t.Errorf("arcSpn %+v", r.ArcSPN)
	}
}

func TestVersionKey(t *testing.T) {
	order := []string{"20H2", "21H2", "22H2", "23H2", "2311", "2408", "2508", "2601"}
	for i := 1; i < len(order); i++ {
		a, _ := versionKey(order[i-1])
		b, _ := versionKey(order[i])
		if a >= b {
			t.Errorf("%s (%d) should be older than %s (%d)", order[i-1], a, order[i], b)
		}
	}
	for _, bad := range []string{"", "2513", "H2", "20H3", "abcd", "25080"} {
		if _, ok := versionKey(bad); ok {
			t.Errorf("versionKey(%q) accepted", bad)
		}
	}
}

var knownCodes = map[string]bool{CodeMalformedMessage: true, CodeUnknownMessageType: true, CodeInvalidField: true, CodeMessageTooLarge: true, CodeTooManyNodes: true}

// FuzzDecode: whatever the body, Decode never panics; it returns a message or a Problem with a
// stable code (InvalidField naming its field), never both; a decoded message holds no control
// character and no time outside MinTime..MaxTime, and a Problem's reason echoes no control
// character. The committed corpus (testdata/fuzz/FuzzDecode) holds the hostile cases of
// docs/messages.md ("Validation"): years 9999 and 1600, the zero time, control characters, system
// properties and duplicate keys in the body; plain `go test` runs it, `go test -fuzz FuzzDecode`
// explores from it.
func FuzzDecode(f *testing.F) {
	f.Add(string(QueueRegistrationRequests), `{"type":"Register","clusterId":"`+tGUID+`","clusterName":"c","tenantId":"`+tGUID+`","subscriptionId":"`+tGUID+`","region":"eastus","nodes":[{"name":"n1"}]}`)
	f.Add(string(QueueMachineEvents), `{"type":"Sync","clusterId":"`+tGUID+`","machine":"n1"}`)
	f.Add(string(QueueMachineEvents), `{"type":"ResetCompleted","operationId":"x","machine":"n1","result":"Failed"}`)
	f.Add(string(QueueMachineEvents), `{"type":"ClusterCreated","clusterId":"`+tGUID+`","nodes":["a"]}`)
	f.Add(string(QueueRegistrationRequests), `[]`)
	// Huge escaped bodies: just over the limit, and just under it with every character escaped.
	f.Add(string(QueueMachineEvents), `{"type":"Sync","pad":"`+strings.Repeat(`\u0041`, MaxBodyBytes/6+1)+`"}`)
	f.Add(string(QueueMachineEvents), `{"type":"Sync","clusterId":"`+tGUID+`","machine":"n1","biosConfigHash":"`+strings.Repeat(`\u0041`, 170)+`","pad":"`+strings.Repeat(`\"`, MaxBodyBytes/2-100)+`"}`)
	f.Add(string(QueueMachineEvents), `{"type":"Sync","x":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`)
	f.Fuzz(func(t *testing.T, queue, body string) {
		m, err := Decode(QueueKind(queue), []byte(body))
		if err == nil {
			if m == nil {
				t.Fatal("nil message without error")
			}
			checkDecoded(t, reflect.ValueOf(m), m.MessageType())
			return
		}
		if m != nil {
			t.Fatalf("a message %+v and an error %v", m, err)
		}
		p, ok := err.(*Problem)
		if !ok || !knownCodes[p.Code] {
			t.Fatalf("error %v is not a Problem with a known code", err)
		}
		if p.Code == CodeInvalidField && p.Field == "" {
			t.Fatalf("InvalidField without field: %v", p)
		}
		if HasControl(p.Reason) || HasControl(p.Field) {
			t.Fatalf("the problem echoes a control character: %q (field %q)", p.Reason, p.Field)
		}
	})
}

// checkDecoded fails when a decoded message holds a control character or a time out of range.
func checkDecoded(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		if tm := v.Interface().(time.Time); !tm.IsZero() && !ValidTime(tm) {
			t.Fatalf("%s: decoded time %v is out of range", path, tm)
		}
	case v.Kind() == reflect.String:
		if HasControl(v.String()) {
			t.Fatalf("%s: decoded %q holds a control character", path, v.String())
		}
	case v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface:
		if !v.IsNil() {
			checkDecoded(t, v.Elem(), path)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			checkDecoded(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			checkDecoded(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// clone must yield a copy that sameState sees as unchanged, whatever the slices' nil-ness.
func TestCloneIsSameState(t *testing.T) {
	c := &Cluster{ID: "x", AppIdentities: []string{}, Notices: nil, Nodes: []Node{{Name: "n", Reset: &ResetOperation{Stages: []ResetStage{}}}}}
	n := clone(c)
	if !sameState(c, n) {
		t.Fatal("a clone differs from its original")
	}
	n.Nodes[0].Reset.Status = ResetInProgress
	if c.Nodes[0].Reset.Status != "" || sameState(c, n) {
		t.Fatal("clone shares the reset operation")
	}
}
