package dashboard

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The page's status names come from one source: names.js, generated from the Go constants
// (names.go). It is served as JavaScript, loaded before app.js, holds the lists the Admin API
// accepts, and app.js keeps no list of its own.
func TestPageNamesHaveOneSource(t *testing.T) {
	h := &handler{}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/dashboard/names.js", nil)
	req.SetPathValue("asset", namesAsset)
	w := httptest.NewRecorder()
	h.asset(w, req)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != contentTypes[".js"] {
		t.Fatalf("GET names.js: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	m := regexp.MustCompile(`(?s)^//[^\n]*\nconst NAMES = (\{.*\});\n$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("names.js is not one `const NAMES = {...};`: %q", body)
	}
	var got struct{ Overview, Filters map[string][]string }
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Fatal(err)
	}
	want := struct{ Overview, Filters map[string][]string }{
		Overview: map[string][]string{
			"registrationStatus": {"Registered", "NotYet", "OutOfPolicy"},
			"connectionStatus":   {"Connected", "Disconnected", "OutOfPolicy", "NotYet"},
			"clusterStatus":      {"Clustered", "NotYet", "OutOfPolicy"},
			"orphan":             {"None", "Suspected", "CleanedUp"},
		},
		Filters: map[string][]string{
			"registrationStatus": {"NotYet", "Registered", "OutOfPolicy"},
			"connectionStatus":   {"NotYet", "Connected", "Disconnected", "OutOfPolicy"},
			"orphan":             {"None", "Suspected", "CleanedUp"},
			"credentialExpired":  {"true", "false"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("names.js (-want +got):\n%s", d)
	}
	// Wherever both list a field, they list the same names.
	for k, f := range got.Filters {
		if o, ok := got.Overview[k]; ok {
			a, b := slices.Sorted(slices.Values(o)), slices.Sorted(slices.Values(f))
			if d := cmp.Diff(a, b); d != "" {
				t.Errorf("%s: the overview and the filters list different names (-overview +filters):\n%s", k, d)
			}
		}
	}

	app, err := fs.ReadFile(assets, "assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range got.Overview {
		names = append(names, l...)
	}
	alt := strings.Join(names, "|")
	own := regexp.MustCompile(`\[\s*"(` + alt + `)"\s*,\s*"(` + alt + `)"`) // a list of two names or more
	if loc := own.FindIndex(app); loc != nil {
		t.Errorf("app.js keeps its own list of status names: %q", app[loc[0]:min(loc[1]+40, len(app))])
	}
	page, err := fs.ReadFile(assets, "assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	n, a := strings.Index(string(page), "dashboard/names.js"), strings.Index(string(page), "dashboard/app.js")
	if n < 0 || a < 0 || n > a {
		t.Errorf("index.html must load names.js before app.js (at %d and %d)", n, a)
	}
}
