package azurite

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Proxy counts the HTTP requests that reach an Azurite Table endpoint, at the wire: a reverse
// proxy in front of it, so every request the client sends is counted once, whatever the client
// (a retried request counts each time it is sent).
type Proxy struct {
	// ConnString is the connection string of the proxy (the same account as the target).
	ConnString string

	mu   sync.Mutex
	reqs []Request
}

// Request is one request the proxy forwarded.
type Request struct {
	Method string
	// What names the target: "Table(PartitionKey,RowKey)", "Table?$filter..." (a query), "$batch Table"
	// (an entity-group transaction) or "Tables" (table creation).
	What string
}

func (r Request) String() string { return r.Method + " " + r.What }

var endpointRE = regexp.MustCompile(`TableEndpoint=(http://[^;/]+)(/[^;]*)?;`)

// NewProxy starts a counting proxy in front of the Azurite Table endpoint of connString; it is
// closed at test cleanup.
func NewProxy(t testing.TB, connString string) *Proxy {
	t.Helper()
	m := endpointRE.FindStringSubmatch(connString)
	if m == nil {
		t.Fatalf("azurite: no TableEndpoint in the connection string")
	}
	target, err := url.Parse(m[1])
	if err != nil {
		t.Fatalf("azurite: TableEndpoint: %v", err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.record(r)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.ConnString = strings.Replace(connString, m[0], "TableEndpoint="+srv.URL+m[2]+";", 1)
	return p
}

var batchTableRE = regexp.MustCompile(`(?m)^(?:POST|PUT|PATCH|MERGE|DELETE|GET) \S*/([A-Za-z][A-Za-z0-9]*)[(?]`)

// record notes r; a batch's body is read to name its table, then restored.
func (p *Proxy) record(r *http.Request) {
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); i >= 0 {
		path = path[i+2:] // drop the account
	}
	what := path
	switch {
	case path == "$batch":
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		table := "?"
		if m := batchTableRE.FindSubmatch(body); m != nil {
			table = string(m[1])
		}
		what = "$batch " + table
	case r.URL.Query().Get("$filter") != "":
		what = path + "?$filter=" + r.URL.Query().Get("$filter")
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, Request{Method: r.Method, What: what})
	p.mu.Unlock()
}

// Count is the number of requests forwarded so far.
func (p *Proxy) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reqs)
}

// Since lists the requests forwarded after the first n.
func (p *Proxy) Since(n int) []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs[min(n, len(p.reqs)):]...)
}

// Describe lists the requests after the first n, one a line, for a failure message.
func (p *Proxy) Describe(n int) string {
	var b strings.Builder
	for i, r := range p.Since(n) {
		fmt.Fprintf(&b, "  %2d. %s\n", i+1, r)
	}
	return b.String()
}
