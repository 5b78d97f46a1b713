package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/azlocal/registrar/shared/auth"
)

// BenchmarkGetCluster measures one authenticated GET /clusters/{id} on the memory store:
// principal decoding, authorization, validation, the domain view and JSON encoding.
func BenchmarkGetCluster(b *testing.B) {
	e := seeded(b)
	req := httptest.NewRequest("GET", "/api/v1/clusters/"+cluster1, nil)
	req.Header.Set(auth.HeaderPrincipal, reader)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
