package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// hostile are strings a terminal acts on: CSI (clear screen), an OSC 8 hyperlink ending in BEL,
// a carriage return and backspaces that overwrite what was printed, the one-byte C1 CSI, a
// right-to-left override, DEL and a byte that is not UTF-8.
var hostile = map[string]string{
	"csi":       "hci\x1b[2J\x1b[31mred",
	"osc8":      "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
	"cr":        "ok\rFORGED",
	"backspace": "Registered\b\b\b\b\b\b\b\b\b\bOutOfPolicy",
	"c1":        "a\u009b31mb",
	"bidi":      "abc\u202edcba",
	"del":       "x\x7fy",
	"invalid":   "bad\xffbyte",
}

// printable reports the first character of s a terminal could act on, if any; the CLI's own
// colour sequences are not expected here (output is not a terminal).
func printable(s string) (rune, bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == '\n' || r == ' ' {
			continue
		}
		if r == utf8.RuneError && size == 1 || !unicode.IsPrint(r) {
			return r, false
		}
	}
	return 0, true
}

func TestTextEscapesWhatATerminalActsOn(t *testing.T) {
	want := map[string]string{
		"csi":       `hci\x1b[2J\x1b[31mred`,
		"osc8":      `\x1b]8;;https://evil.example/\aclick\x1b]8;;\a`,
		"cr":        `ok\rFORGED`,
		"backspace": `Registered\b\b\b\b\b\b\b\b\b\bOutOfPolicy`,
		"c1":        `a\u009b31mb`,
		"bidi":      `abc\u202edcba`,
		"del":       `x\x7fy`,
		"invalid":   `bad\xffbyte`,
	}
	got := map[string]string{}
	for k, s := range hostile {
		got[k] = text(s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("text (-want +got):\n%s", diff)
	}
	if s := "hci-01 Zürich 東京"; text(s) != s {
		t.Errorf("printable text changed: %q", text(s))
	}
}

// Tables, plain text and error messages never write a character a terminal acts on, whatever the
// service answers (older rows, other sources); -o json prints the same JSON values, with such
// characters as JSON escapes.
func TestOutputNeverWritesTerminalControls(t *testing.T) {
	var all []string
	for _, s := range hostile {
		all = append(all, s)
	}
	name := strings.Join(all, "|")
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	const id = "00000000-0000-4000-8000-000000000001"
	view := `{"clusterId":"` + id + `","clusterName":` + q(name) + `,"resourceId":` + q(name) + `,"region":` + q(name) +
		`,"registrationStatus":` + q(hostile["backspace"]) + `,"clusterStatus":"Clustered","connectionStatus":` + q(hostile["cr"]) +
		`,"orphan":"None","deadlines":[{"clusterId":"` + id + `","policy":` + q(name) + `,"deadline":"2026-03-01T00:00:00Z","action":` + q(name) + `}],` +
		`"nodes":[{"name":` + q(hostile["osc8"]) + `,"registrationStatus":"Registered","connectionStatus":"Connected","arcStatus":` + q(hostile["c1"]) + `,"biosConfigHash":` + q(name) + `}]}`
	list := `{"items":[{"at":"2026-03-01T00:00:00Z","messageId":` + q(name) + `,"messageType":` + q(hostile["csi"]) + `,"code":"InvalidField","reason":` + q(name) + `}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/rejections"):
			w.Write([]byte(list))
		case strings.Contains(r.URL.Path, "/clusters/"+id):
			w.Write([]byte(view))
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(409)
			w.Write([]byte(`{"title":` + q(hostile["osc8"]) + `,"status":409,"code":"NotRegistered","detail":` + q(name) + `}`))
		}
	}))
	defer srv.Close()
	for _, args := range [][]string{{"status", id}, {"rejections"}, {"repair", "00000000-0000-4000-8000-000000000009"}} {
		code, stdout, stderr := runCLI(t, App{}, srv.URL, args...)
		for stream, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
			if r, ok := printable(out); !ok {
				t.Errorf("%v (exit %d): %s writes %U:\n%q", args, code, stream, r, out)
			}
		}
		if !strings.Contains(stdout+stderr, `\x1b[2J`) {
			t.Errorf("%v: the escaped text is not shown: %q", args, stdout+stderr)
		}
	}
	for _, args := range [][]string{{"status", id, "-o", "json"}, {"rejections", "-o", "json"}} {
		_, stdout, _ := runCLI(t, App{}, srv.URL, args...)
		if r, ok := printable(stdout); !ok {
			t.Errorf("%v: -o json writes %U: %q", args, r, stdout)
		}
		var got, want any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v: -o json is not JSON: %v\n%s", args, err, stdout)
		}
		src := view
		if args[0] == "rejections" {
			src = list
		}
		_ = json.Unmarshal([]byte(src), &want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v: -o json changed the values (-api +printed):\n%s", args, diff)
		}
	}
}
