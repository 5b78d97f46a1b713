package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// defaultWaitTimeout bounds every --wait unless --timeout says otherwise.
const defaultWaitTimeout = 30 * time.Minute

// TimeoutError is a --wait that ran out of time before the operation ended (exit 1). The
// operation itself goes on: Last is the state it was last seen in.
type TimeoutError struct {
	After time.Duration
	Last  string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("Timeout: gave up waiting after %s; last state: %s", e.After, e.Last)
}

// addTimeoutFlag adds --timeout, which bounds the command's --wait.
func addTimeoutFlag(fl *pflag.FlagSet, d *time.Duration) {
	fl.DurationVar(d, "timeout", defaultWaitTimeout, "with --wait: give up after this long (exit 1, showing the last state)")
}

// waiting runs a --wait loop with the timeout. The loop records what it last saw with
// s.waitState; when the timeout passes first, the answer is a TimeoutError naming it.
func (s *session) waiting(ctx context.Context, timeout time.Duration, loop func(ctx context.Context) error) error {
	if timeout <= 0 {
		return usagef("--timeout must be positive, not %s", timeout)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := loop(wctx)
	if err != nil && ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
		last := s.waitState
		if last == "" {
			last = "unknown (no answer yet)"
		}
		if s.StdoutTerminal && !s.json() {
			fmt.Fprintln(s.Stdout) // end a redrawn progress line
		}
		return &TimeoutError{After: timeout, Last: last}
	}
	return err
}
