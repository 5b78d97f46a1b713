package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildHandler compiles the command into a temporary directory.
func buildHandler(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "handler")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Invalid settings stop start-up with exit code 1 and one message naming each bad setting.
func TestBadSettingsExit1(t *testing.T) {
	bin := buildHandler(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RegistrarStorage=AccountKey=TOPSECRET", "Policy__SyncInterval=12 hours"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	msg := stderr.String()
	if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("more than one line: %q", msg)
	}
	for _, name := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "RegistrarStorage", "Policy__SyncInterval"} {
		if !strings.Contains(msg, name) {
			t.Errorf("message does not name %s: %q", name, msg)
		}
	}
	if strings.Contains(msg, "TOPSECRET") {
		t.Errorf("message echoes a secret: %q", msg)
	}
}
