package cli

// Input files of `registrar bulk` and `registrar register --from-file` (docs/cli.md, "Bulk"):
// a bulk F.json is the API body ({"items":[...]}); a CSV has a header row naming its columns.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxInputFile bounds what a --from-file reads: far above 1000s of rows, far below memory.
const maxInputFile = 16 << 20

// bulkItem is one item of a bulk request (the API's shape).
type bulkItem struct {
	ClusterID string `json:"clusterId"`
	Machine   string `json:"machine,omitempty"`
}

// readInput reads a --from-file: "-" is standard input.
func (s *session) readInput(name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = s.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("--from-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputFile+1))
	if err != nil {
		return nil, usagef("--from-file %s: %v", name, err)
	}
	if len(b) > maxInputFile {
		return nil, usagef("--from-file %s: larger than %d MiB", name, maxInputFile>>20)
	}
	return b, nil
}

// isJSON says whether a --from-file is JSON: by its extension, else by its first character.
func isJSON(name string, b []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return true
	case ".csv":
		return false
	}
	return bytes.HasPrefix(bytes.TrimSpace(b), []byte("{"))
}

// parseBulkItems reads a bulk file's items: JSON {"items":[...]} (unknown fields refused) or a CSV
// with a clusterId column (and machine, which reset requires and the others refuse).
func parseBulkItems(name string, b []byte, machine bool) ([]bulkItem, error) {
	if isJSON(name, b) {
		var body struct {
			Items []bulkItem `json:"items"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return nil, usagef("%s: not a bulk body {\"items\":[{\"clusterId\":...}]}: %v", name, err)
		}
		return body.Items, nil
	}
	cols := []string{"clusterId"}
	if machine {
		cols = append(cols, "machine")
	}
	rows, err := readCSV(name, b, cols, cols)
	if err != nil {
		return nil, err
	}
	items := make([]bulkItem, 0, len(rows))
	for _, r := range rows {
		items = append(items, bulkItem{ClusterID: r["clusterId"], Machine: r["machine"]})
	}
	return items, nil
}

// csvRow is one data row of a CSV, by canonical column name, with its line number.
type csvRow map[string]string

// readCSV reads a CSV whose header names columns from known (matched case-insensitively, each
// once) and includes every required one; blank lines are skipped. Each row records its line as
// "line".
func readCSV(name string, b []byte, known, required []string) ([]csvRow, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, usagef("%s: empty; the first row names the columns (%s)", name, strings.Join(known, ","))
	} else if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	canon := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // a spreadsheet's byte-order mark
		j := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, h) })
		if j < 0 {
			return nil, usagef("%s: unknown column %q; the columns are %s", name, h, strings.Join(known, ", "))
		}
		if slices.Contains(canon, known[j]) {
			return nil, usagef("%s: column %q appears twice", name, known[j])
		}
		canon[i] = known[j]
	}
	for _, req := range required {
		if !slices.Contains(canon, req) {
			return nil, usagef("%s: the header row lacks the column %s", name, req)
		}
	}
	var rows []csvRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, usagef("%s: %v", name, err)
		}
		line, _ := r.FieldPos(0)
		row := csvRow{"line": fmt.Sprint(line)}
		blank := true
		for i, v := range rec {
			row[canon[i]] = strings.TrimSpace(v)
			blank = blank && row[canon[i]] == ""
		}
		if !blank {
			rows = append(rows, row)
		}
	}
}
