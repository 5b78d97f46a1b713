package domain

import (
	"errors"
	"fmt"
)

// Store sentinel errors. Stores translate their backend's errors into these at the boundary.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("concurrent update (ETag mismatch)")
	ErrTransient = errors.New("storage temporarily unavailable")
	// ErrInvalidCursor: a paging cursor the store did not issue (a caller error, not transient).
	ErrInvalidCursor = errors.New("invalid paging cursor")
)

// Rejection codes (docs/messages.md). Numbers are those of Azure Local's cmdlets, where they have one.
const (
	CodeMalformedMessage          = "MalformedMessage"
	CodeUnknownMessageType        = "UnknownMessageType"
	CodeInvalidField              = "InvalidField"
	CodeMessageTooLarge           = "MessageTooLarge"
	CodeRegionNotSupported        = "RegionNotSupported"
	CodeResourceExistsInDiffRegn  = "ResourceExistsInDifferentRegion" // 9104
	CodeNodeRegisteredElsewhere   = "NodeRegisteredElsewhere"         // 9105
	CodeUnregisterFirst           = "UnregisterFirst"                 // 9107
	CodeArcDisableInProgress      = "ArcDisableInProgress"            // 9113
	CodeNotRegistered             = "NotRegistered"                   // 9115
	CodeArcResourceGroupMismatch  = "ArcResourceGroupMismatch"        // 9129
	CodeCannotRepairNotRegistered = "CannotRepairNotRegistered"       // 9101
	CodeTooManyNodes              = "TooManyNodes"
	CodeResetNotSupported         = "ResetNotSupported"
	CodeUnknownMachine            = "UnknownMachine"
	CodeUnknownOperation          = "UnknownOperation"
	CodeUnknownCluster            = "UnknownCluster"
	CodeMachineNotRegistered      = "MachineNotRegistered" // the node is not Registered: never, or its reset cleared it
	CodeResetInProgress           = "ResetInProgress"      // a reset runs and is not Stalled
	CodeResetEnded                = "ResetEnded"           // the reset to cancel has already ended
	CodeNoResetOperation          = "NoResetOperation"     // the machine never had a reset
)

// CodeNumbers maps codes to the numeric codes of Azure Local's cmdlets (docs/messages.md).
var CodeNumbers = map[string]int{
	CodeCannotRepairNotRegistered: 9101,
	CodeResourceExistsInDiffRegn:  9104,
	CodeNodeRegisteredElsewhere:   9105,
	CodeUnregisterFirst:           9107,
	CodeArcDisableInProgress:      9113,
	CodeNotRegistered:             9115,
	CodeArcResourceGroupMismatch:  9129,
}

// Problem is a permanent refusal: bad input or a rule that refuses the request. It is never
// retried. Queue handlers record it as a rejection; the admin API answers it as problem details.
type Problem struct {
	Code   string // stable code, e.g. NotRegistered
	Field  string // the offending field, for InvalidField
	Reason string // a human sentence
}

func (p *Problem) Error() string {
	if p.Field != "" {
		return fmt.Sprintf("%s (%s): %s", p.Code, p.Field, p.Reason)
	}
	return p.Code + ": " + p.Reason
}

// Number is the code's number in Azure Local's cmdlets, or 0.
func (p *Problem) Number() int { return CodeNumbers[p.Code] }

// Reject returns a Problem with a formatted reason.
func Reject(code, format string, args ...any) *Problem {
	return &Problem{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// InvalidField returns an InvalidField problem naming the field.
func InvalidField(field, format string, args ...any) *Problem {
	return &Problem{Code: CodeInvalidField, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// AsProblem reports whether err is (or wraps) a Problem.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}
