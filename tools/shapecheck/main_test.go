package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/testkit/repo"
)

const src = `package p

func short(a, b bool) int {
	if a && b || !a {
		return 1
	}
	for i := 0; i < 3; i++ {
		switch i {
		case 1, 2:
		default:
		}
	}
	select {
	case <-make(chan int):
	default:
	}
	return 0
}

// long is long.
func long() {
` + "\t_ = 1\n\t_ = 2\n\t_ = 3\n" + `}

// excused is long too.
//
// shape: a table read top to bottom.
func excused() {
` + "\t_ = 1\n\t_ = 2\n\t_ = 3\n" + `}

type T struct{}

func (*T) complex(x int) {
	if x > 0 {
	}
	if x > 1 {
	}
	if x > 2 {
	}
}
`

func TestShapeFindings(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	// short: 1 + if + && + || + for + case(1,2) + select case = 7.
	var got []string
	for _, fd := range checkFile(fset, f, 2, 3) {
		got = append(got, fd.name+": "+fd.why)
	}
	want := []string{
		"short: longer than 2 lines and complexity above 3",
		"long: longer than 2 lines",
		"(T).complex: longer than 2 lines and complexity above 3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, fd := range checkFile(fset, f, 100, 100) {
		t.Errorf("unexpected finding under generous limits: %s", fd)
	}
	for _, fd := range checkFile(fset, f, 2, 3) {
		if fd.name == "short" && fd.cyc != 7 {
			t.Errorf("short's complexity = %d, want 7", fd.cyc)
		}
		if !strings.Contains(fd.String(), "p.go:") {
			t.Errorf("finding %q does not name its file", fd)
		}
	}
}

// TestTheRepoHasNoFindings holds the project to its own limits (make lint runs the same check):
// no function in shared/, cmd/ or tools/ longer than 60 lines or above complexity 15 without a
// "shape:" line saying why.
func TestTheRepoHasNoFindings(t *testing.T) {
	root := repo.Root(t)
	for _, dir := range []string{"shared", "cmd", "tools"} {
		found, err := checkTree(filepath.Join(root, dir), 60, 15)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Errorf("%s", f)
		}
	}
}
