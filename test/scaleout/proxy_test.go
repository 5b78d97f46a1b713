package scaleout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"
)

// tableProxy sits between the handler processes and Azurite and counts Table requests at the
// wire: all of them, the entity-group transactions, and those that failed on an ETag (412) or an
// existing row (409); separately those that write the fleet's two shared rows, the status counts
// and the newest-sync time. While Azurite is down it drops each connection, as a storage
// endpoint that has gone away does.
type tableProxy struct {
	url string // http://127.0.0.1:port

	mu sync.Mutex
	c  wireCounts
}

// wireCounts are a proxy's counters; minus gives those between two moments.
type wireCounts struct {
	Requests, Batches, BatchConflicts int64
	CountsWrites, CountsConflicts     int64 // transactions writing the fleet counts row, and those that conflicted
	SyncWrites, SyncConflicts         int64 // the same for the fleet's newest-sync row
}

func (p *tableProxy) counts() wireCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c
}

func (a wireCounts) minus(b wireCounts) wireCounts {
	return wireCounts{a.Requests - b.Requests, a.Batches - b.Batches, a.BatchConflicts - b.BatchConflicts,
		a.CountsWrites - b.CountsWrites, a.CountsConflicts - b.CountsConflicts, a.SyncWrites - b.SyncWrites, a.SyncConflicts - b.SyncConflicts}
}

func (a wireCounts) plus(b wireCounts) wireCounts {
	return wireCounts{a.Requests + b.Requests, a.Batches + b.Batches, a.BatchConflicts + b.BatchConflicts,
		a.CountsWrites + b.CountsWrites, a.CountsConflicts + b.CountsConflicts, a.SyncWrites + b.SyncWrites, a.SyncConflicts + b.SyncConflicts}
}

// rate is part/whole, 0 for no whole.
func rate(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// The shared rows in a transaction's body (shared/store/tables: table Fleet, partition summary),
// and a failed inner response of a transaction's answer.
var (
	countsRow      = []byte("/Fleet(PartitionKey='summary',RowKey='counts')")
	syncRow        = []byte("/Fleet(PartitionKey='summary',RowKey='sync')")
	failedInner    = regexp.MustCompile(`HTTP/1\.1 (409|412) `)
	batchPath      = regexp.MustCompile(`/\$batch$`)
	proxyClassKey  = struct{ name string }{"class"}
	proxyTransport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
)

// batchClass says which shared row a transaction writes.
type batchClass struct{ counts, sync bool }

func (p *tableProxy) add(fn func(c *wireCounts)) {
	p.mu.Lock()
	fn(&p.c)
	p.mu.Unlock()
}

// startTableProxy serves a proxy to the Table endpoint of azuriteConn's port until the test ends.
func startTableProxy(t testing.TB, azuritePort int) *tableProxy {
	t.Helper()
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", azuritePort))
	p := &tableProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		Transport:      proxyTransport,
		ModifyResponse: p.inspect,
		// Azurite is down: end the client's connection without an answer, as a dead endpoint does.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rp.ServeHTTP(w, p.classify(r)) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.url = "http://" + ln.Addr().String()
	return p
}

// classify counts a request and, for a transaction, notes which shared rows it writes.
func (p *tableProxy) classify(r *http.Request) *http.Request {
	p.add(func(w *wireCounts) { w.Requests++ })
	if r.Method != http.MethodPost || !batchPath.MatchString(r.URL.Path) {
		return r
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := &batchClass{counts: bytes.Contains(body, countsRow), sync: bytes.Contains(body, syncRow)}
	p.add(func(w *wireCounts) {
		w.Batches++
		if c.counts {
			w.CountsWrites++
		}
		if c.sync {
			w.SyncWrites++
		}
	})
	return r.WithContext(context.WithValue(r.Context(), proxyClassKey, c))
}

// inspect counts a transaction that failed on a conflict (Azurite answers a failed transaction
// 202 with the inner 409 or 412 in the body).
func (p *tableProxy) inspect(res *http.Response) error {
	c, ok := res.Request.Context().Value(proxyClassKey).(*batchClass)
	if !ok {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if failedInner.Match(body) || res.StatusCode == http.StatusPreconditionFailed || res.StatusCode == http.StatusConflict {
		p.add(func(w *wireCounts) {
			w.BatchConflicts++
			if c.counts {
				w.CountsConflicts++
			}
			if c.sync {
				w.SyncConflicts++
			}
		})
	}
	return nil
}

// port is the proxy's port, for a Table connection string.
func (p *tableProxy) port() int {
	u, _ := url.Parse(p.url)
	var port int
	fmt.Sscan(u.Port(), &port)
	return port
}
