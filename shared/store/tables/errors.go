package tables

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

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
