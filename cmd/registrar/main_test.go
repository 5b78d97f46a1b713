package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

// TestVersionOfABuiltBinary builds the command line as a release would (the version set with
// -ldflags, inside this git checkout) and checks that `registrar version` reports that version
// and the commit the binary was built from.
func TestVersionOfABuiltBinary(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: go build stamps no commit without it")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): go build stamps no commit", err)
	}
	// The go command finds a repository by a .git directory; a linked worktree has a .git file,
	// so its builds carry no commit (a clone, as CI uses, does).
	if fi, err := os.Stat(repo.Path(t, ".git")); err != nil || !fi.IsDir() {
		t.Skip("a linked git worktree: go build stamps no commit there")
	}
	bin := filepath.Join(t.TempDir(), "registrar")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin,
		"-ldflags", "-X github.com/azlocal/registrar/shared/cli.Version=v0.0.0-test", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("registrar version: %v", err)
	}
	want := "registrar v0.0.0-test (commit " + strings.TrimSpace(string(head))[:12]
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("registrar version = %q, want it to start %q", out, want)
	}
}
