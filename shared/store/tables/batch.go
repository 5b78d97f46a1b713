package tables

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/azlocal/registrar/shared/domain"
)

// A batch (entity-group transaction) response is a multipart/mixed body whose change set holds
// one HTTP response per operation; aztables exposes neither the operations' ETags nor, for a
// failed transaction (answered 202), the inner error. This file reads both.

// firstETag is the ETag of the first operation's row in a transaction's response ("" when the
// response names none).
func firstETag(resp *http.Response) (string, error) {
	if resp == nil {
		return "", nil
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return "", fmt.Errorf("tables: %w: transaction response unreadable", domain.ErrTransient)
	}
	for _, p := range batchParts(resp.Header.Get("Content-Type"), body) {
		if r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p)), nil); err == nil {
			r.Body.Close()
			return r.Header.Get("ETag"), nil
		}
	}
	return "", nil
}

// innerError reads the first failed inner response of a batch response body.
func innerError(resp *http.Response) (string, int) {
	if resp == nil {
		return "", 0
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return "", 0
	}
	for _, p := range batchParts(resp.Header.Get("Content-Type"), body) {
		r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p)), nil)
		if err != nil || r.StatusCode < 400 {
			continue
		}
		var e struct {
			OData struct {
				Code string `json:"code"`
			} `json:"odata.error"`
		}
		c := r.Header.Get("x-ms-error-code")
		if c == "" {
			if raw, err := readAll(r); err == nil && json.Unmarshal(raw, &e) == nil {
				c = e.OData.Code
			}
		}
		return c, r.StatusCode
	}
	return "", 0
}

// collectParts walks nested multipart bodies and collects the leaf parts (HTTP responses).
func collectParts(contentType string, body []byte, out *[][]byte, depth int) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" || depth > 2 {
		if depth > 0 {
			*out = append(*out, body)
		}
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(p); err != nil {
			return
		}
		collectParts(p.Header.Get("Content-Type"), buf.Bytes(), out, depth+1)
	}
}

func readAll(r *http.Response) ([]byte, error) {
	defer r.Body.Close()
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}

// batchParts are the leaf parts (HTTP responses) of a batch response body of contentType.
func batchParts(contentType string, body []byte) [][]byte {
	var parts [][]byte
	collectParts(contentType, body, &parts, 0)
	return parts
}
