package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// downStore is a store whose reads fail as an unreachable Table service does.
type downStore struct{ domain.Store }

func (downStore) Load(context.Context, string, string) (domain.ClusterRecord, error) {
	return domain.ClusterRecord{}, errors.Join(domain.ErrTransient, errors.New("dial tcp: connection refused"))
}

// GET /healthz answers 200 {"status":"ok"} when the store answers and 503 when it does not, to
// a caller without a principal (even with Easy Auth off), and shows nothing of the fleet.
func TestHealthz(t *testing.T) {
	for name, c := range map[string]struct {
		o      envOptions
		status int
		body   string
	}{
		"store answers":          {envOptions{store: memory.New(nil)}, 200, `{"status":"ok"}` + "\n"},
		"store answers, no auth": {envOptions{store: memory.New(nil), easyAuthOff: true}, 200, `{"status":"ok"}` + "\n"},
		"store does not answer":  {envOptions{store: downStore{memory.New(nil)}}, 503, ""},
		"no auth, store is down": {envOptions{store: downStore{memory.New(nil)}, easyAuthOff: true}, 503, ""},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, c.o)
			w := e.call("GET", "/api/v1/healthz", "", "")
			if c.status == 503 {
				p := problem(t, w, http.StatusServiceUnavailable, CodeUnavailable)
				if w.Header().Get("Retry-After") == "" || p.Detail == "" || containsAny(w.Body.String(), "refused", "dial") {
					t.Errorf("503 %v %s: want Retry-After and no storage error text", w.Header(), w.Body)
				}
				return
			}
			if w.Code != c.status || w.Body.String() != c.body || mediaType(w) != "application/json" {
				t.Errorf("GET /healthz = %d %q %q, want %d %q", w.Code, w.Header().Get("Content-Type"), w.Body, c.status, c.body)
			}
		})
	}
	// Another method is 405 to anyone, not 401.
	w := newEnv(t, envOptions{store: memory.New(nil)}).call("POST", "/api/v1/healthz", "", "")
	problem(t, w, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}
