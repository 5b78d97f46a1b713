package tables

import (
	"net/http"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// CountingPolicy is an azcore per-call policy counting HTTP round trips (retries included are
// counted once: it sits before the retry policy). Add it with Options.PerCallPolicies.
type CountingPolicy struct{ n atomic.Int64 }

var _ policy.Policy = (*CountingPolicy)(nil)

// Do implements policy.Policy.
func (c *CountingPolicy) Do(req *policy.Request) (*http.Response, error) {
	c.n.Add(1)
	return req.Next()
}

// Count is the number of requests sent so far.
func (c *CountingPolicy) Count() int64 { return c.n.Load() }

// Reset sets the count back to zero.
func (c *CountingPolicy) Reset() { c.n.Store(0) }
