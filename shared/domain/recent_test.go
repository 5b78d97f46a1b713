package domain

import (
	"strings"
	"testing"
)

// TestRecentStaysSmall: Cluster.Recent keeps at most RecentMessages entries of at most 71 bytes
// each, a long MessageId (a claim's, naming 16 machines of 63 characters) as its digest, and
// still recognises every one it keeps.
func TestRecentStaysSmall(t *testing.T) {
	var c Cluster
	long := "m-1|claim|" + strings.Repeat(strings.Repeat("a", 63)+",", 16)
	ids := []string{long}
	for i := range RecentMessages - 1 {
		ids = append(ids, strings.Repeat("x", i)+"-short")
	}
	c.record("evicted")
	for _, id := range ids {
		c.record(id)
	}
	size := 0
	for _, e := range c.Recent {
		size = max(size, len(e))
	}
	for _, id := range ids {
		if !c.recorded(id) {
			t.Errorf("%.20q… not recognised", id)
		}
	}
	if c.recorded("evicted") || len(c.Recent) != RecentMessages || size > 71 {
		t.Fatalf("recent: %d entries (want %d), longest %d bytes (want <= 71), evicted one recognised: %v",
			len(c.Recent), RecentMessages, size, c.recorded("evicted"))
	}
}
