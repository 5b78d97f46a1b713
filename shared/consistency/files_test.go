package consistency

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/azlocal/registrar/shared/devhost"
)

// root returns the project folder (the one holding host.json) above the test's working directory.
func root(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := devhost.FindRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// read returns a repository file, failing the test with the file's name when it is missing.
func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("%s is missing or unreadable (it must exist for the names to be checked): %v", rel, err)
	}
	return string(b)
}

// readJSON decodes a repository JSON file into v.
func readJSON(t *testing.T, rel string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(read(t, rel)), v); err != nil {
		t.Fatalf("%s is not valid JSON: %v", rel, err)
	}
}
