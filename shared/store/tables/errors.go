package tables

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/azlocal/registrar/shared/domain"
)

// code is the storage error code of err ("" if none). A failed transaction is reported by
// aztables as status 202 with the real error only in the multipart body: its inner code is used.
func code(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return ""
	}
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	if c, _ := innerError(re.RawResponse); c != "" {
		return c
	}
	return ""
}

// status is the HTTP status of err: the inner one for a failed transaction, 0 for transport errors.
func status(err error) int {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return 0
	}
	if re.StatusCode == http.StatusAccepted {
		if _, st := innerError(re.RawResponse); st != 0 {
			return st
		}
	}
	return re.StatusCode
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
	var parts [][]byte
	collectParts(resp.Header.Get("Content-Type"), body, &parts, 0)
	for _, p := range parts {
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

// translate maps a storage error to the domain's sentinels by error code and status, never by
// message text, and never carries the response body.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	c, st := code(err), status(err)
	switch {
	case c == "UpdateConditionNotSatisfied" || c == "ConditionNotMet" || st == http.StatusPreconditionFailed:
		return domain.ErrConflict
	case c == "EntityAlreadyExists" || st == http.StatusConflict && c != "TableBeingDeleted":
		return domain.ErrConflict
	case c == "ResourceNotFound" || c == "EntityNotFound" || st == http.StatusNotFound:
		return domain.ErrNotFound
	case st == 0, st == http.StatusRequestTimeout, st == http.StatusTooManyRequests, st >= 500, c == "TableBeingDeleted":
		return fmt.Errorf("tables: %w (status %d %s)", domain.ErrTransient, st, c)
	}
	return fmt.Errorf("tables: storage refused the request (status %d %s)", st, c)
}

func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
