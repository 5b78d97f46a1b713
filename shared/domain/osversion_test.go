package domain

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A Sync or MachineInstalled may report an OS build string: it is accepted and kept as reported,
// and the rules read its release where the build is known (docs/messages.md).
func TestOSBuildStrings(t *testing.T) {
	type got struct {
		Decoded, Release string
		Arc, Reset       bool
	}
	for _, tc := range []struct {
		in   string
		want got
	}{
		{"10.0.25398.1189", got{"10.0.25398.1189", "23H2", true, false}},
		{"10.0.17784.2000", got{"10.0.17784.2000", "20H2", false, false}},
		{"10.0.20348.587", got{"10.0.20348.587", "21H2", true, false}},
		{"10.0.26100", got{"10.0.26100", "24H2", true, false}},
		{"10.0.99999.1", got{"10.0.99999.1", "", true, false}}, // unknown build: kept, release unknown
		{"2508", got{"2508", "2508", true, true}},
		{"23h2", got{"23H2", "23H2", true, false}},
	} {
		m, err := Decode(QueueMachineEvents, []byte(`{"type":"Sync","clusterId":"`+tGUID+`","machine":"n1","osVersion":"`+tc.in+`"}`))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		v := m.(Sync).OSVersion
		if diff := cmp.Diff(tc.want, got{v, Release(v), arcAvailable(v), atLeast(v, MinResetVersion)}); diff != "" {
			t.Errorf("osVersion %q (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"10.0", "10.0.x.1", "10.0.25398.1189.7", "1000.0.25398", "10.0.25398."} {
		if _, err := Decode(QueueMachineEvents, []byte(`{"type":"Sync","clusterId":"`+tGUID+`","machine":"n1","osVersion":"`+bad+`"}`)); err == nil {
			t.Errorf("osVersion %q accepted", bad)
		}
	}
}

// Cloud names match case-insensitively: a Register says "azurechinacloud" and gets the China cloud.
func TestCloudNamesIgnoreCase(t *testing.T) {
	for in, want := range map[string]string{"azurechinacloud": CloudChina, "AZUREUSGOVERNMENT": CloudUSGov,
		"azureCloud": CloudPublic, "AzureGermanCloud": "AzureGermanCloud"} {
		body := `{"type":"Register","clusterId":"` + tGUID + `","clusterName":"hci-01","tenantId":"` + tGUID2 +
			`","subscriptionId":"` + tGUID2 + `","region":"eastus","cloud":"` + in + `","nodes":[{"name":"n1"}]}`
		m, err := Decode(QueueRegistrationRequests, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(Register).Cloud; got != want {
			t.Errorf("cloud %q decoded as %q, want %q", in, got, want)
		}
	}
}
