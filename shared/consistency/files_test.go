package consistency

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// root returns the module root (the directory holding go.mod above the test's working directory).
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
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
