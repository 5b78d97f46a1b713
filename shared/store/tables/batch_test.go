package tables

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
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

// A failed transaction is answered 202 with its error only in the body: storageError reads the
// inner code and status from it (so translate sees a conflict, not a refusal); an error the
// response names itself keeps its own code, and a status other than 202 its own status.
func TestStorageErrorOfATransaction(t *testing.T) {
	type read struct {
		Code     string
		Status   int
		Conflict bool
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want read
	}{
		{"failed transaction", func() error {
			return &azcore.ResponseError{StatusCode: http.StatusAccepted, RawResponse: batchResponse(t, "batch-failed.txt", "batchresponse_77aa", http.StatusAccepted)}
		}, read{Code: "UpdateConditionNotSatisfied", Status: http.StatusPreconditionFailed, Conflict: true}},
		{"landed transaction", func() error {
			return &azcore.ResponseError{StatusCode: http.StatusAccepted, RawResponse: batchResponse(t, "batch-landed.txt", "batchresponse_6a3c", http.StatusAccepted)}
		}, read{Status: http.StatusAccepted}},
		{"outer code named", func() error {
			return &azcore.ResponseError{StatusCode: http.StatusBadRequest, ErrorCode: "InvalidInput", RawResponse: batchResponse(t, "batch-failed.txt", "batchresponse_77aa", http.StatusBadRequest)}
		}, read{Code: "InvalidInput", Status: http.StatusBadRequest}},
		{"no response", func() error {
			return &azcore.ResponseError{StatusCode: http.StatusNotFound, ErrorCode: "ResourceNotFound"}
		},
			read{Code: "ResourceNotFound", Status: http.StatusNotFound}},
		{"transport", func() error { return io.ErrUnexpectedEOF }, read{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got read
			got.Code, got.Status = storageError(tc.err())
			got.Conflict = errors.Is(translate(tc.err()), domain.ErrConflict)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
