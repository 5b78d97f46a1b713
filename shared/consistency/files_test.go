package consistency

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

// read returns a repository file, failing the test with the file's name when it is missing.
func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(repo.Path(t, rel))
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
