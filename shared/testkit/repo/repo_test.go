package repo

import (
	"os"
	"path/filepath"
	"testing"
)

// Root finds the folder of go.mod from a package folder, and Find fails where there is none.
func TestRootIsTheModuleFolder(t *testing.T) {
	root := Root(t)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || len(b) == 0 {
		t.Fatalf("Root() = %s holds no go.mod: %v", root, err)
	}
	if got := Path(t, "shared/testkit/repo/repo.go"); filepath.Dir(got) != mustAbs(t, ".") {
		t.Errorf("Path(shared/testkit/repo/repo.go) = %s, want it in this package's folder", got)
	}
	if dir, err := Find(t.TempDir()); err == nil {
		t.Errorf("Find(a temporary folder) = %s, want an error", dir)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
