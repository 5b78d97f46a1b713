// Package repo finds the repository's own files from a test: the one way every test reaches the
// module root (docs, infra, functions, node_modules), whatever package it runs in.
package repo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/azlocal/registrar/shared/devhost"
)

// Find returns the module root: the nearest folder at or above dir holding host.json (as the
// runner finds it, devhost.FindRoot), which must hold go.mod too.
func Find(dir string) (string, error) {
	root, err := devhost.FindRoot(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", errors.New("repo: the folder of host.json holds no go.mod")
	}
	return root, nil
}

// Root returns the module root above the test's working directory (go test runs a test in its
// package's folder); it fails the test when there is none.
func Root(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err == nil {
		wd, err = Find(wd)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return wd
}

// Path returns the repository file or folder at rel (slash-separated, from the module root).
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(Root(tb), filepath.FromSlash(rel))
}
