package cli

import (
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/azlocal/registrar/shared/api"
)

// spnFlags are Register-AzStackHCI's Arc onboarding SPN: its app ID and its credential's expiry
// (register, and repair with a regenerated credential).
type spnFlags struct{ appID, expires string }

func (f *spnFlags) flags(fl *pflag.FlagSet, what string) {
	fl.StringVar(&f.appID, "arc-spn-app-id", "", what+": its application (client) ID, a GUID; with --arc-spn-expires")
	fl.StringVar(&f.expires, "arc-spn-expires", "", "when that SPN's credential expires: RFC 3339 (2027-11-01T00:00:00Z) or a date (2027-11-01, UTC)")
}

// expiry parses --arc-spn-expires.
func (f *spnFlags) expiry() (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, f.expires); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, f.expires)
}

// check refuses one flag without the other, a malformed app ID or expiry (usage errors).
func (f *spnFlags) check() error {
	switch {
	case f.appID == "" && f.expires == "":
		return nil
	case f.appID == "" || f.expires == "":
		return usagef("--arc-spn-app-id and --arc-spn-expires go together")
	}
	if err := checkGUID("--arc-spn-app-id", f.appID); err != nil {
		return err
	}
	if _, err := f.expiry(); err != nil {
		return usagef("--arc-spn-expires %q is not an RFC 3339 time or a date (e.g. 2027-11-01T00:00:00Z or 2027-11-01)", f.expires)
	}
	return nil
}

// body is the arcSpn to send, nil when not given (check first). The expiry is sent in whole
// seconds, UTC: a fraction given on the command line is dropped.
func (f *spnFlags) body() *api.ArcSPN {
	if f.appID == "" {
		return nil
	}
	t, _ := f.expiry()
	return &api.ArcSPN{AppID: strings.ToLower(f.appID), CredentialExpiresAt: t.UTC().Truncate(time.Second)}
}
