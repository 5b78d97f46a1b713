// Command shapecheck keeps Registrar's functions short enough to read at once: it reports every
// function or method outside tests longer than -lines lines or with a cyclomatic complexity above
// -complexity, unless its doc comment says why, on a line of its own starting "shape:" (for
// example "// shape: one table of the host's rules, read top to bottom"). `make lint` runs it on
// shared/ and cmd/; it exits 1 when it reports anything.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	maxLines := flag.Int("lines", 60, "longest function body allowed, in lines")
	maxComplexity := flag.Int("complexity", 15, "highest cyclomatic complexity allowed")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: shapecheck [-lines N] [-complexity N] DIR...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var found []finding
	for _, dir := range flag.Args() {
		f, err := checkTree(dir, *maxLines, *maxComplexity)
		if err != nil {
			fmt.Fprintln(os.Stderr, "shapecheck:", err)
			os.Exit(2)
		}
		found = append(found, f...)
	}
	for _, f := range found {
		fmt.Println(f)
	}
	if len(found) > 0 {
		fmt.Fprintf(os.Stderr, "shapecheck: %d function(s) too long or too complex; split them, or say why in a \"shape:\" doc comment line\n", len(found))
		os.Exit(1)
	}
}

// finding is one function over a limit.
type finding struct {
	pos        token.Position
	name       string
	lines, cyc int
	why        string
}

func (f finding) String() string {
	return fmt.Sprintf("%s: %s: %s (%d lines, complexity %d)", f.pos, f.name, f.why, f.lines, f.cyc)
}

// checkTree checks every non-test Go file under dir.
func checkTree(dir string, maxLines, maxComplexity int) ([]finding, error) {
	var out []finding
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		out = append(out, checkFile(fset, file, maxLines, maxComplexity)...)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].pos.String() < out[j].pos.String() })
	return out, err
}

// checkFile checks the file's top-level functions and methods (function literals count towards
// the function that holds them).
func checkFile(fset *token.FileSet, file *ast.File, maxLines, maxComplexity int) []finding {
	var out []finding
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil || excused(fn.Doc) {
			continue
		}
		lines := fset.Position(fn.Body.Rbrace).Line - fset.Position(fn.Body.Lbrace).Line - 1
		cyc := Complexity(fn.Body)
		var why []string
		if lines > maxLines {
			why = append(why, fmt.Sprintf("longer than %d lines", maxLines))
		}
		if cyc > maxComplexity {
			why = append(why, fmt.Sprintf("complexity above %d", maxComplexity))
		}
		if len(why) > 0 {
			out = append(out, finding{fset.Position(fn.Pos()), funcName(fn), lines, cyc, strings.Join(why, " and ")})
		}
	}
	return out
}

// excused reports whether the doc comment has a line starting "shape:" that says why.
func excused(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, line := range strings.Split(doc.Text(), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "shape:"); ok && strings.TrimSpace(rest) != "" {
			return true
		}
	}
	return false
}

func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return "(" + id.Name + ")." + fn.Name.Name
	}
	return fn.Name.Name
}

// Complexity is the cyclomatic complexity of a function body, counted as gocyclo does: one, plus
// one for each if, for, range, non-default case or select clause, && and ||.
func Complexity(body *ast.BlockStmt) int {
	c := 1
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if n.List != nil {
				c++
			}
		case *ast.CommClause:
			if n.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}
