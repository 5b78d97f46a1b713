package consistency

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

// fakeGo is a `go` that records how it was called and writes the -o file it is asked to build,
// so `make package` runs every step of its own with no compiler in the loop.
const fakeGo = `#!/bin/sh
echo "CGO_ENABLED=$CGO_ENABLED GOOS=$GOOS GOARCH=$GOARCH $*" >> "$(dirname "$0")/calls"
while [ $# -gt 0 ]; do
	if [ "$1" = "-o" ]; then printf 'binary' > "$2"; chmod +x "$2"; fi
	shift
done
`

// `make package` builds the deployable folder the host needs (host.json, the function folders and
// the static linux/amd64 handler, flat) and, for Core Tools' `func start` in dist/, the sample's
// local.settings.json kept out of publishing by .funcignore; azd's hook (LOCAL_SETTINGS=no) leaves
// the settings out (docs/deployment.md).
func TestPackageBuildsTheDeployableFolder(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is not installed: the README's commands need it (%v)", err)
	}
	bin := t.TempDir()
	goPath := filepath.Join(bin, "go")
	if err := os.WriteFile(goPath, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	root := repo.Root(t)
	var fns []string
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			fns = append(fns, e.Name()+"/function.json")
		}
	}
	for _, c := range []struct {
		localSettings string
		want          []string
	}{
		{"yes", append([]string{".funcignore", "handler", "host.json", "local.settings.json"}, fns...)},
		{"no", append([]string{".funcignore", "handler", "host.json"}, fns...)},
	} {
		dist := filepath.Join(t.TempDir(), "dist")
		cmd := exec.Command("make", "-s", "-C", root, "package", "DIST="+dist, "GO="+goPath, "LOCAL_SETTINGS="+c.localSettings)
		cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=") // not the flags of a `make test` around this test
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make package LOCAL_SETTINGS=%s: %v\n%s", c.localSettings, err, out)
		}
		got := filesUnder(t, dist)
		slices.Sort(c.want)
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("LOCAL_SETTINGS=%s: dist/ (-want +got):\n%s", c.localSettings, d)
		}
		same := func(distRel, repoRel string) {
			if b, _ := os.ReadFile(filepath.Join(dist, distRel)); string(b) != read(t, repoRel) {
				t.Errorf("LOCAL_SETTINGS=%s: dist/%s is not %s", c.localSettings, distRel, repoRel)
			}
		}
		same("host.json", "host.json")
		for _, f := range fns {
			same(f, "functions/"+f)
		}
		if c.localSettings == "yes" {
			same("local.settings.json", "local.settings.sample.json")
		}
		if b, _ := os.ReadFile(filepath.Join(dist, ".funcignore")); !slices.Contains(strings.Split(string(b), "\n"), "local.settings.json") {
			t.Errorf("LOCAL_SETTINGS=%s: dist/.funcignore %q does not keep local.settings.json from being published", c.localSettings, b)
		}
	}
	calls, _ := os.ReadFile(filepath.Join(bin, "calls"))
	for _, line := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
		if !strings.HasPrefix(line, "CGO_ENABLED=0 GOOS=linux GOARCH=amd64 build -trimpath") || !strings.HasSuffix(line, " ./cmd/handler") {
			t.Errorf("make package ran `go %s`: want a static linux/amd64 build of ./cmd/handler", line)
		}
	}
}

// filesUnder lists the files under dir, relative and sorted.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
