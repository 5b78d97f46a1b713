package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
)

// Counting counts every method of domain.Store itself: a method added to the Store interface
// and not to Counting would pass through uncounted, and this test names it.
func TestCountingWrapsEveryStoreMethod(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "counting.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil && fn.Name.IsExported() {
			got = append(got, fn.Name.Name)
		}
	}
	st := reflect.TypeFor[domain.Store]()
	want := []string{"Calls", "Reset"}
	for i := range st.NumMethod() {
		want = append(want, st.Method(i).Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Counting's methods (-want +got):\n%s", d)
	}
}
