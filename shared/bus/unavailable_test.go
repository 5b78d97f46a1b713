package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/azlocal/registrar/shared/domain"
)

// Service Bus failures of the dead-letter operations are transient (503 Unavailable at the Admin
// API), except a refused authorisation; the SDK error stays in the chain.
func TestDeadLetterFailuresAreTransient(t *testing.T) {
	for _, tc := range []struct {
		err       error
		transient bool
	}{
		{&azservicebus.Error{Code: azservicebus.CodeConnectionLost}, true},
		{&azservicebus.Error{Code: azservicebus.CodeTimeout}, true},
		{fmt.Errorf("amqp: link detached"), true},
		{&azservicebus.Error{Code: azservicebus.CodeUnauthorizedAccess}, false},
		{context.Canceled, false},
	} {
		got := unavailable(tc.err)
		if errors.Is(got, domain.ErrTransient) != tc.transient || !errors.Is(got, tc.err) {
			t.Errorf("unavailable(%v) = %v: transient %v, want %v (and the cause kept)", tc.err, got, !tc.transient, tc.transient)
		}
	}
}
