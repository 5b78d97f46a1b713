package cli

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"}, {30 * time.Second, "just now"}, {-5 * time.Minute, "5 min ago"},
		{3*time.Hour + 20*time.Minute, "in 3 h"}, {-3 * time.Hour, "3 h ago"},
		{6*24*time.Hour + time.Hour, "in 6 days"}, {-40 * 24 * time.Hour, "40 days ago"},
	} {
		if got := ago(now.Add(c.d), now); got != c.want {
			t.Errorf("ago(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if got := when(nil, now); got != "-" {
		t.Errorf("when(nil) = %q", got)
	}
}

func TestTableAlignsPaintedCells(t *testing.T) {
	var b bytes.Buffer
	table(&b, []string{"A", "STATUS", "C"}, [][]string{{"x", "OutOfPolicy", "1"}, {"longer", "Connected", "2"}}, style{color: true}.status)
	want := "A       STATUS       C\n" +
		"x       \x1b[31mOutOfPolicy\x1b[0m  1\n" +
		"longer  Connected    2\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	table(&b, []string{"S"}, [][]string{{"Failed"}}, style{}.status)
	if b.String() != "S\nFailed\n" {
		t.Errorf("no-colour table = %q", b.String())
	}
}

func TestExitCodesAndHints(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		hint string
	}{
		{nil, 0, ""},
		{&APIError{Status: 401}, 3, "sign in: az login; check --scope"},
		{&APIError{Status: 403, Perm: "clusters/unregister"}, 3, "you lack the permission clusters/unregister: ask for the role Registrar.Operator"},
		{&APIError{Status: 403, Perm: "orphans/cleanup"}, 3, "you lack the permission orphans/cleanup: ask for the role Registrar.Admin"},
		{&APIError{Status: 404}, 1, "check the cluster ID and machine name (registrar list shows the known clusters)"},
		{&APIError{Status: 409}, 1, ""},
		{&UnreachableError{Endpoint: "http://x", Err: errors.New("refused")}, 4, "check --endpoint (or REGISTRAR_ENDPOINT) and that the service runs"},
		{&AuthError{Err: errors.New("no login")}, 3, "sign in: az login; check --scope"},
		{usagef("bad"), 2, "see --help"},
		{&RejectedError{Code: "RegionNotSupported"}, 1, ""},
	} {
		if got := ExitCode(c.err); got != c.code {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.code)
		}
		if got := Hint(c.err); got != c.hint {
			t.Errorf("Hint(%v) = %q, want %q", c.err, got, c.hint)
		}
	}
	e := &APIError{Status: http.StatusConflict, Problem: Problem{Code: "NotRegistered", Title: "Conflict", Detail: "the cluster is not registered"}}
	if got, want := e.Error(), "NotRegistered: Conflict — the cluster is not registered (HTTP 409)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
