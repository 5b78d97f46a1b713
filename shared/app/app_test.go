package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
)

// stubStore satisfies domain.Store; only the outbox is implemented.
type stubStore struct {
	domain.Store
	pending, marked []domain.Event
}

func (s *stubStore) Pending(_ context.Context, limit int) ([]domain.Event, error) {
	return s.pending[:min(limit, len(s.pending))], nil
}

func (s *stubStore) MarkPublished(_ context.Context, ev []domain.Event) error {
	s.marked = append(s.marked, ev...)
	return nil
}

type publisher struct{ sent []domain.Event }

func (p *publisher) Publish(_ context.Context, ev []domain.Event) error {
	p.sent = append(p.sent, ev...)
	return nil
}

// The OutboxRelay timer publishes the store's pending events through the given publisher.
func TestOutboxRelayWiring(t *testing.T) {
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"})
	st := &stubStore{pending: []domain.Event{{ID: "e1"}, {ID: "e2"}}}
	pub := &publisher{}
	a, err := New(context.Background(), cfg, &Options{Store: st, Publisher: pub, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/OutboxRelay", strings.NewReader(`{"Data":{"timer":{"IsPastDue":false}},"Metadata":{}}`)))
	if w.Code != http.StatusOK || len(pub.sent) != 2 || len(st.marked) != 2 {
		t.Fatalf("status %d sent %v marked %v", w.Code, pub.sent, st.marked)
	}
}

func loadConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNewServesTheFunctions(t *testing.T) {
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory", "Orphan__Grace": "1h"})
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"path":"` + r.URL.Path + `"}`))
	})
	a, err := New(context.Background(), cfg, &Options{Store: &stubStore{}, Admin: admin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	if a.Service.Policy().OrphanGrace.Hours() != 1 {
		t.Fatalf("policy not from config: %+v", a.Service.Policy())
	}
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d", w.Code)
	}
	env := `{"Data":{"req":{"Url":"http://h/api/v1/clusters","Method":"GET","Headers":{}}},"Metadata":{}}`
	w = httptest.NewRecorder()
	a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/Admin", strings.NewReader(env)))
	var rep struct {
		Outputs struct {
			Res struct{ Body string }
		}
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || json.Unmarshal([]byte(rep.Outputs.Res.Body), &body) != nil || body["path"] != "/api/v1/clusters" {
		t.Fatalf("POST /Admin = %d %s", w.Code, w.Body)
	}
	if len(a.Functions.Names()) != 6 {
		t.Fatalf("functions %v", a.Functions.Names())
	}
}

// A configured Service Bus gives a publisher and dead-letter access without any network I/O.
func TestServiceBusFromConfigOpensNothing(t *testing.T) {
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory",
		config.EnvServiceBus: "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true"})
	a, err := New(context.Background(), cfg, &Options{Store: &stubStore{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if a.DeadLetters == nil {
		t.Fatal("no dead-letter access")
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A connection string the Table client cannot use is refused with the setting's name and what it
// lacks, never its secret.
func TestBadConnectionStringNamesTheSetting(t *testing.T) {
	_, err := config.Load(func(k string) string {
		return map[string]string{config.EnvPort: "7072",
			config.EnvStorage: "TableEndpoint=https://acct.table.core.windows.net/;SharedAccessSignature=sv=2024&sig=s3cr3t"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), config.EnvStorage) || !strings.Contains(err.Error(), "AccountName") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Load = %v; want an error naming %s and what is missing, without the signature", err, config.EnvStorage)
	}
}

// RegistrarStorage's validation and the Table client agree: a connection string the settings
// accept opens a store, one they refuse would not, so start-up fails once, naming every setting.
func TestStorageConnectionStringRulesAgree(t *testing.T) {
	for conn, valid := range map[string]bool{
		"UseDevelopmentStorage=true":  true,
		"UseDevelopmentStorage=true;": true,
		"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net":           true,
		"AccountName=acct;SharedAccessSignature=sv=2024&sig=abc":                                                    true,
		"TableEndpoint=https://acct.table.core.windows.net/;AccountName=acct;SharedAccessSignature=sv=2024&sig=abc": true,
		"TableEndpoint=https://acct.table.core.windows.net/;SharedAccessSignature=sv=2024&sig=abc":                  false,
		"AccountName=acct": false,
		"AccountKey=a2V5":  false,
	} {
		_, cfgErr := config.Load(func(k string) string {
			return map[string]string{config.EnvPort: "7072", config.EnvStorage: conn}[k]
		})
		_, storeErr := tables.New(context.Background(), tables.Config{ConnectionString: conn}, nil)
		if (cfgErr == nil) != valid || (storeErr == nil) != valid {
			t.Errorf("%q: settings %v, store %v; want both valid=%v", conn, cfgErr, storeErr, valid)
		}
	}
}
