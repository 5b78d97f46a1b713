// Package repo finds the repository's own files from a test: the one way every test reaches the
// module root (docs, infra, functions, node_modules), whatever package it runs in.
package repo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Find returns the module root: the nearest folder holding go.mod at or above dir.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repo: no go.mod at or above the working directory")
		}
		dir = parent
	}
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
