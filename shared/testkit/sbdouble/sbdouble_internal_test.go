package sbdouble

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fatalTB records Fatalf and stops the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingRheaFailsWithAHint(t *testing.T) {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		startIn(tb, t.TempDir())
		t.Error("startIn returned without node_modules")
	}()
	<-done
	if !strings.Contains(tb.msg, "run `npm ci`") {
		t.Fatalf("failure message %q does not say to run npm ci", tb.msg)
	}
}
