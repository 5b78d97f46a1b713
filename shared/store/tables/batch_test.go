package tables

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// batchResponse is a transaction's response of the canned body testdata/name (CRLF lines, as the
// service sends them), whose outer boundary is boundary.
func batchResponse(t *testing.T, name, boundary string, status int) *http.Response {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "multipart/mixed; boundary="+boundary)
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
}

// A transaction's response: the first operation's ETag is read from its change set, and a failed
// transaction's inner error (answered 202) gives its code and status.
func TestBatchResponse(t *testing.T) {
	type read struct {
		ETag   string
		Code   string
		Status int
		Parts  int
	}
	for _, tc := range []struct {
		name, file, boundary string
		status               int
		want                 read
	}{
		{"landed", "batch-landed.txt", "batchresponse_6a3c", http.StatusAccepted,
			read{ETag: `W/"datetime'2026-12-05T20%3A00%3A00.1234567Z'"`, Parts: 2}},
		{"failed", "batch-failed.txt", "batchresponse_77aa", http.StatusAccepted,
			read{Code: "UpdateConditionNotSatisfied", Status: http.StatusPreconditionFailed, Parts: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got read
			var err error
			if got.ETag, err = firstETag(batchResponse(t, tc.file, tc.boundary, tc.status)); err != nil {
				t.Fatal(err)
			}
			resp := batchResponse(t, tc.file, tc.boundary, tc.status)
			got.Code, got.Status = innerError(resp)
			raw, _ := os.ReadFile(filepath.Join("testdata", tc.file))
			got.Parts = len(batchParts("multipart/mixed; boundary="+tc.boundary, raw))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("read (-want +got):\n%s", d)
			}
		})
	}
	if etag, err := firstETag(nil); etag != "" || err != nil {
		t.Errorf("no response: %q, %v", etag, err)
	}
}
