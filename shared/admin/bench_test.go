package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
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

// BenchmarkKeyPage measures paging 1000 computed deadlines: keying, sorting, decoding the
// cursor and cutting a page of 100 from the middle.
func BenchmarkKeyPage(b *testing.B) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	all := make([]domain.Deadline, 1000)
	for i := range all {
		all[i] = domain.Deadline{ClusterID: clusterN(i), Policy: "Credential", Deadline: base.Add(time.Duration(i%97) * time.Hour),
			Action: "Run RepairRegistration with a new SPN credential."}
	}
	cursor := keyPage(all, nil, 500, upcomingList, upcomingKey).NextCursor
	b.ReportAllocs()
	for b.Loop() {
		after, pr := upcomingList.after(domain.Page{Cursor: cursor})
		if pr != nil {
			b.Fatal(pr)
		}
		if p := keyPage(all, after, 100, upcomingList, upcomingKey); len(p.Items) != 100 || p.NextCursor == "" {
			b.Fatalf("page of %d, next %q", len(p.Items), p.NextCursor)
		}
	}
}
