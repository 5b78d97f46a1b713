package tables

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/azlocal/registrar/shared/domain"
)

// storageError is the storage error code ("" if none) and HTTP status (0 for transport errors)
// of err. A failed transaction is reported by aztables as status 202 with the real error only in
// the multipart body: its inner status is used, and its inner code when the response names none.
// The body is parsed at most once.
func storageError(err error) (code string, status int) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return "", 0
	}
	code, status = re.ErrorCode, re.StatusCode
	if code != "" && status != http.StatusAccepted {
		return code, status
	}
	innerCode, innerStatus := innerError(re.RawResponse)
	if code == "" {
		code = innerCode
	}
	if status == http.StatusAccepted && innerStatus != 0 {
		status = innerStatus
	}
	return code, status
}

// code is the storage error code of err ("" if none; see storageError).
func code(err error) string {
	c, _ := storageError(err)
	return c
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
	c, st := storageError(err)
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
