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
	"sync/atomic"
	"testing"
	"time"
)

// tableProxy sits between the handler processes and Azurite and counts Table requests at the
// wire: all of them, the entity-group transactions, and those that failed on an ETag (412) or an
// existing row (409); separately those that write the fleet counts row. While Azurite is down it
// drops each connection, as a storage endpoint that has gone away does.
type tableProxy struct {
	url string // http://127.0.0.1:port

	requests        atomic.Int64
	batches         atomic.Int64
	batchConflicts  atomic.Int64
	countsWrites    atomic.Int64 // transactions that write the fleet counts row
	countsConflicts atomic.Int64 // ... and failed on a precondition
}

// wireCounts is a copy of a proxy's counters, for differences between two moments.
type wireCounts struct {
	Requests, Batches, BatchConflicts, CountsWrites, CountsConflicts int64
}

func (p *tableProxy) counts() wireCounts {
	return wireCounts{p.requests.Load(), p.batches.Load(), p.batchConflicts.Load(), p.countsWrites.Load(), p.countsConflicts.Load()}
}

func (a wireCounts) minus(b wireCounts) wireCounts {
	return wireCounts{a.Requests - b.Requests, a.Batches - b.Batches, a.BatchConflicts - b.BatchConflicts,
		a.CountsWrites - b.CountsWrites, a.CountsConflicts - b.CountsConflicts}
}

// countsConflictRate is the share of counts-row transactions that met a conflict.
func (a wireCounts) countsConflictRate() float64 {
	if a.CountsWrites == 0 {
		return 0
	}
	return float64(a.CountsConflicts) / float64(a.CountsWrites)
}

// The counts row in a transaction's body (shared/store/tables: table Fleet, partition summary,
// row counts), and a failed inner response of a transaction's answer.
var (
	countsRow      = []byte("/Fleet(PartitionKey='summary',RowKey='counts')")
	failedInner    = regexp.MustCompile(`HTTP/1\.1 (409|412) `)
	batchPath      = regexp.MustCompile(`/\$batch$`)
	proxyClassKey  = struct{ name string }{"class"}
	proxyTransport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
)

type batchClass struct{ counts bool }

// startTableProxy serves a proxy to the Table endpoint of azuriteConn's port until the test ends.
func startTableProxy(t testing.TB, azuritePort int) *tableProxy {
	t.Helper()
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", azuritePort))
	p := &tableProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		Transport: proxyTransport,
		ModifyResponse: func(res *http.Response) error {
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
				p.batchConflicts.Add(1)
				if c.counts {
					p.countsConflicts.Add(1)
				}
			}
			return nil
		},
		// Azurite is down: end the client's connection without an answer, as a dead endpoint does.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.Method == http.MethodPost && batchPath.MatchString(r.URL.Path) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			c := &batchClass{counts: bytes.Contains(body, countsRow)}
			p.batches.Add(1)
			if c.counts {
				p.countsWrites.Add(1)
			}
			r = r.WithContext(context.WithValue(r.Context(), proxyClassKey, c))
		}
		rp.ServeHTTP(w, r)
	})
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

// port is the proxy's port, for a Table connection string.
func (p *tableProxy) port() int {
	u, _ := url.Parse(p.url)
	var port int
	fmt.Sscan(u.Port(), &port)
	return port
}
