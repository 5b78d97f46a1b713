package domain

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Times outside 2000-01-01..2200-01-01 and strings with control characters are InvalidField,
// naming the field (docs/messages.md, "Validation").
func TestDecodeRefusesHostileTimesAndControls(t *testing.T) {
	installed := func(at string) string {
		return `{"type":"MachineInstalled","clusterId":"` + tGUID + `","machine":"n1","installedAt":"` + at + `"}`
	}
	reg := func(extra string) string {
		return `{"type":"Register","clusterId":"` + tGUID + `","clusterName":"hci-01","tenantId":"` + tGUID2 + `","subscriptionId":"` + tGUID2 + `","region":"East US","nodes":[{"name":"node1"}]` + extra + `}`
	}
	sync := func(field, value string) string {
		return `{"type":"Sync","clusterId":"` + tGUID + `","machine":"n1","` + field + `":"` + value + `"}`
	}
	type want struct{ Code, Field string }
	cases := []struct {
		name  string
		queue QueueKind
		body  string
		want  want
	}{
		{"year 9999", QueueMachineEvents, installed("9999-12-30T00:00:00Z"), want{CodeInvalidField, "installedAt"}},
		{"year 1600", QueueMachineEvents, installed("1600-01-01T00:00:00Z"), want{CodeInvalidField, "installedAt"}},
		{"zero time", QueueMachineEvents, installed("0001-01-01T00:00:00Z"), want{CodeInvalidField, "installedAt"}},
		{"just before 2000", QueueMachineEvents, installed("1999-12-31T23:59:59.999Z"), want{CodeInvalidField, "installedAt"}},
		{"just after 2200", QueueMachineEvents, installed("2200-01-01T00:00:00.000000001Z"), want{CodeInvalidField, "installedAt"}},
		{"offset into 1999", QueueMachineEvents, installed("2000-01-01T00:30:00+01:00"), want{CodeInvalidField, "installedAt"}},
		{"createdAt", QueueMachineEvents, `{"type":"ClusterCreated","clusterId":"` + tGUID + `","nodes":["n1"],"createdAt":"9999-12-31T23:59:59Z"}`, want{CodeInvalidField, "createdAt"}},
		{"credential expiry", QueueRegistrationRequests, reg(`,"arcSpn":{"appId":"` + tGUID + `","credentialExpiresAt":"9999-12-31T00:00:00Z"}`), want{CodeInvalidField, "arcSpn.credentialExpiresAt"}},
		{"ESC in region", QueueRegistrationRequests, strings.Replace(reg(""), "East US", `East US\u001b[2J`, 1), want{CodeInvalidField, "region"}},
		{"OSC 8 in requestedBy", QueueRegistrationRequests, reg(`,"requestedBy":"\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007"`), want{CodeInvalidField, "requestedBy"}},
		{"BEL in cloud", QueueRegistrationRequests, reg(`,"cloud":"AzureCloud\u0007"`), want{CodeInvalidField, "cloud"}},
		{"CR in bios hash", QueueRegistrationRequests, strings.Replace(reg(""), `{"name":"node1"}`, `{"name":"node1","biosConfigHash":"ok\rforged"}`, 1), want{CodeInvalidField, "nodes[0].biosConfigHash"}},
		{"backspace", QueueMachineEvents, sync("arcAgentVersion", `1.45\b\b\b\b9.99`), want{CodeInvalidField, "arcAgentVersion"}},
		{"C1 CSI", QueueMachineEvents, sync("biosConfigHash", `h\u009b31m`), want{CodeInvalidField, "biosConfigHash"}},
		{"DEL", QueueMachineEvents, sync("biosConfigHash", `h\u007f`), want{CodeInvalidField, "biosConfigHash"}},
		{"bidi override", QueueMachineEvents, sync("biosConfigHash", `abc\u202edcba`), want{CodeInvalidField, "biosConfigHash"}},
		{"trailing newline", QueueMachineEvents, sync("biosConfigHash", `abc\n`), want{CodeInvalidField, "biosConfigHash"}},
		{"NUL in error", QueueMachineEvents, `{"type":"ResetCompleted","operationId":"op1","machine":"n1","result":"Failed","error":"disk\u0000full"}`, want{CodeInvalidField, "error"}},
		{"control in type", QueueMachineEvents, `{"type":"Sync\u001b[0m"}`, want{CodeInvalidField, "type"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.queue, []byte(tc.body))
			p, ok := AsProblem(err)
			if !ok {
				t.Fatalf("Decode accepted %s (err %v)", tc.body, err)
			}
			if diff := cmp.Diff(tc.want, want{p.Code, p.Field}); diff != "" {
				t.Fatalf("Decode problem (-want +got):\n%s", diff)
			}
			if HasControl(p.Reason) {
				t.Errorf("the reason echoes a control character: %q", p.Reason)
			}
		})
	}
}

// The edges of the range, and text that is merely not ASCII, are accepted.
func TestDecodeAcceptsTheRangeEdges(t *testing.T) {
	for _, at := range []string{"2000-01-01T00:00:00Z", "2200-01-01T00:00:00Z", "2199-12-31T23:59:59+00:00"} {
		body := `{"type":"MachineInstalled","machine":"n1","installedAt":"` + at + `"}`
		if _, err := Decode(QueueMachineEvents, []byte(body)); err != nil {
			t.Errorf("installedAt %s refused: %v", at, err)
		}
	}
	body := `{"type":"Sync","clusterId":"` + tGUID + `","machine":"n1","biosConfigHash":"Zürich-東京-✓ tab-free"}`
	m, err := Decode(QueueMachineEvents, []byte(body))
	if err != nil {
		t.Fatalf("printable Unicode refused: %v", err)
	}
	if got := m.(Sync).BiosConfigHash; got != "Zürich-東京-✓ tab-free" {
		t.Errorf("biosConfigHash = %q", got)
	}
}

func TestEscapeControl(t *testing.T) {
	got := EscapeControl("a\x1b[31mb\u009bc\u202ed\r\n\x00é")
	if want := `a\x1b[31mb\u009bc\u202ed\r\n\x00é`; got != want {
		t.Fatalf("EscapeControl = %q, want %q", got, want)
	}
	if HasControl(got) {
		t.Fatalf("escaped text still has a control character: %q", got)
	}
}
