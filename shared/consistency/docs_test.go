package consistency

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

// docRef is a path under docs/ cited in Go source, with an optional #anchor.
var docRef = regexp.MustCompile(`docs/[A-Za-z0-9_./-]*[A-Za-z0-9_/-](#[a-z0-9-]+)?`)

// outsideRef is a reference to a document that is not in this repository.
var outsideRef = regexp.MustCompile(`§|(?i)\bthe seed\b|\bseed's\b|\(seed\)`)

// goFiles returns every .go file of the repository (slash paths from the root), leaving out
// testdata, node_modules and dot folders.
func goFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no Go files under %s: %v", root, err)
	}
	return out
}

// TestCodeCitesOnlyItsOwnDocs: the code's comments cite the repository's own docs (docs/settings.md,
// README.md), never a contract kept elsewhere, and every docs/ path a comment cites exists, with
// its #anchor among the headings of that page.
func TestCodeCitesOnlyItsOwnDocs(t *testing.T) {
	root := repo.Root(t)
	headings := map[string]map[string]bool{}
	for _, rel := range goFiles(t, root) {
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if outsideRef.Match(src) && rel != "shared/consistency/docs_test.go" { // this file names the patterns
			t.Errorf("%s cites a document outside the repository (%q): cite docs/... instead", rel, outsideRef.Find(src))
		}
		f, err := parser.ParseFile(token.NewFileSet(), rel, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range f.Comments {
			for _, ref := range docRef.FindAllString(g.Text(), -1) {
				if problem := checkDocRef(root, ref, headings); problem != "" {
					t.Errorf("%s cites %s: %s", rel, ref, problem)
				}
			}
		}
	}
}

// checkDocRef says what is wrong with a cited docs/ path ("" when nothing is).
func checkDocRef(root, ref string, headings map[string]map[string]bool) string {
	path, anchor, _ := strings.Cut(strings.TrimSuffix(ref, "."), "#")
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(path))); err != nil {
		return "no such file"
	}
	if anchor == "" {
		return ""
	}
	if headings[path] == nil {
		headings[path] = anchors(filepath.Join(root, filepath.FromSlash(path)))
	}
	if !headings[path][anchor] {
		return "no heading with that anchor"
	}
	return ""
}

// anchors returns the GitHub anchors of a Markdown page's headings.
func anchors(path string) map[string]bool {
	b, _ := os.ReadFile(path)
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		out[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return out
}

// The checks above can fail: a made-up page, a made-up anchor and a SPEC reference are caught.
func TestDocRefCheckCatchesBadCitations(t *testing.T) {
	root := repo.Root(t)
	h := map[string]map[string]bool{}
	for ref, want := range map[string]bool{
		"docs/messages.md":                   true,
		"docs/messages.md#outcomes":          true,
		"docs/admin-api.md#the-cluster-view": true,
		"docs/nowhere.md":                    false,
		"docs/messages.md#no-such-heading":   false,
	} {
		if got := checkDocRef(root, ref, h) == ""; got != want {
			t.Errorf("checkDocRef(%s) ok = %v, want %v", ref, got, want)
		}
	}
	for text, want := range map[string]bool{"SPEC §8": true, "the seed's number": true, "(seed)": true, "seeded(t)": false} {
		if got := outsideRef.MatchString(text); got != want {
			t.Errorf("outsideRef matches %q = %v, want %v", text, got, want)
		}
	}
}

// errKey is a log call's error under another key than the schema's "error" (shared/logs).
var errKey = regexp.MustCompile(`"(err|errMsg|cause_error|failure)",\s*\w*[eE]rr\b`)

// TestOneKeyForErrors: every log line names its error "error" (logs.Err), never "err".
func TestOneKeyForErrors(t *testing.T) {
	root := repo.Root(t)
	for _, rel := range goFiles(t, root) {
		if strings.HasSuffix(rel, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if m := errKey.Find(src); m != nil {
			t.Errorf("%s logs an error as %q: use logs.Err(err) (key \"error\")", rel, m)
		}
	}
	if !errKey.MatchString(`log.Warn("x", "err", err)`) {
		t.Error(`errKey misses "err", err`)
	}
}
