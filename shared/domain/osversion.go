package domain

import (
	"strconv"
	"strings"
)

// OS versions (docs/messages.md): a release name (20H2, 23H2, 2508) or, from Sync and
// MachineInstalled, an OS build string as the machine reports it (10.0.25398.1189). A build is
// kept as reported; the rules read its release where the build is known.

// buildReleases maps Azure Stack HCI / Azure Local OS builds to their releases.
var buildReleases = map[int]string{
	17784: "20H2",
	20348: "21H2",
	20349: "22H2",
	25398: "23H2",
	26100: "24H2",
}

// Release thresholds of the rules that depend on a machine's OS version.
const (
	// MinResetVersion is the oldest OS release supporting a bootstrap reset (YYMM).
	MinResetVersion = "2508"
	// MinArcVersion is the oldest release with Arc integration: 20H2 has none.
	MinArcVersion = "21H2"
)

// isBuild reports whether v is an OS build string: major.minor.build[.revision], digits only.
func isBuild(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 && len(parts) != 4 {
		return false
	}
	for i, p := range parts {
		width := 9
		if i < 2 {
			width = 2
		}
		if p == "" || len(p) > width || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// Release is the release of an OS version: the version itself when it is a release name, the
// release of a known build, "" for an unknown build or an invalid version.
func Release(v string) string {
	if isBuild(v) {
		b, _ := strconv.Atoi(strings.Split(v, ".")[2])
		return buildReleases[b]
	}
	if _, ok := releaseKey(v); ok {
		return strings.ToUpper(v)
	}
	return ""
}

// versionKey orders OS versions as YYMM of their release ("20H2" → 2010, "23H2" → 2310,
// "2508" → 2508, "10.0.25398.1189" → 2310); false when the release is not known.
func versionKey(v string) (int, bool) {
	if isBuild(v) {
		v = Release(v)
	}
	return releaseKey(v)
}

// releaseKey is versionKey of a release name.
func releaseKey(v string) (int, bool) {
	if len(v) != 4 {
		return 0, false
	}
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	if !digit(v[0]) || !digit(v[1]) {
		return 0, false
	}
	yy := int(v[0]-'0')*10 + int(v[1]-'0')
	switch {
	case (v[2] == 'H' || v[2] == 'h') && (v[3] == '1' || v[3] == '2'):
		return yy*100 + int(v[3]-'0')*6 - 2, true // H1 → 04, H2 → 10
	case digit(v[2]) && digit(v[3]):
		mm := int(v[2]-'0')*10 + int(v[3]-'0')
		if mm < 1 || mm > 12 {
			return 0, false
		}
		return yy*100 + mm, true
	}
	return 0, false
}

// atLeast reports whether version v is known to be release min or later.
func atLeast(v, min string) bool {
	k, ok := versionKey(v)
	m, _ := versionKey(min)
	return ok && k >= m
}

// arcAvailable reports whether Arc integration is available on a machine running v: everywhere
// but before 21H2 (20H2); an unknown version is not held against it.
func arcAvailable(v string) bool {
	k, ok := versionKey(v)
	m, _ := versionKey(MinArcVersion)
	return !ok || k >= m
}
