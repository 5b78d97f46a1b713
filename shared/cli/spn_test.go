package cli

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The arcSpn the CLI sends has its expiry in whole seconds, UTC, whatever zone or fraction the
// flag had: the same text as before the body became api.ArcSPN.
func TestSPNBodyIsWholeSecondsUTC(t *testing.T) {
	for expires, want := range map[string]string{
		"2027-11-01":                          `{"appId":"0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f","credentialExpiresAt":"2027-11-01T00:00:00Z"}`,
		"2027-11-01T00:00:00.123456+02:00":    `{"appId":"0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f","credentialExpiresAt":"2027-10-31T22:00:00Z"}`,
		"2027-11-01T23:59:59.999999999-05:30": `{"appId":"0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f","credentialExpiresAt":"2027-11-02T05:29:59Z"}`,
	} {
		f := spnFlags{appID: "0B7E5D1A-1F0E-4E5A-9A9E-2F7B3C4D5E6F", expires: expires}
		if err := f.check(); err != nil {
			t.Fatalf("%s: %v", expires, err)
		}
		b, err := json.Marshal(f.body())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, string(b)); diff != "" {
			t.Errorf("--arc-spn-expires %s: body (-want +got):\n%s", expires, diff)
		}
	}
	if b := (&spnFlags{}).body(); b != nil {
		t.Errorf("no SPN flags: body %+v, want nil", b)
	}
}
