// Package tables is the Azure Table Storage domain.Store (aztables). Layout, costs and the
// order of writes that keeps a crash harmless are described in docs/storage.md.
package tables

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/tracing"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/identity"
	"github.com/azlocal/registrar/shared/store/devstorage"
)

// Table names.
const (
	tableClusters   = "Clusters"
	tableRejections = "Rejections"
	tableFleet      = "Fleet"
	tableLookup     = "Lookup"
)

// maxLimit is the most rows one query page asks for: a full page (domain.Page.Size sizes the
// caller's pages).
const maxLimit = 1000

// DevelopmentStorage selects Azurite's well-known endpoint and published account key.
const DevelopmentStorage = devstorage.Setting

// Config says where the tables are: a ConnectionString (or DevelopmentStorage), or a
// ServiceURI reached with an Entra ID credential (ClientID selects a user-assigned managed identity).
type Config struct {
	ConnectionString string // a secret: never logged
	ServiceURI       string
	ClientID         string
}

// Options tune the store; nil means defaults.
type Options struct {
	// PerCallPolicies are added to every request's pipeline (e.g. a CountingPolicy).
	PerCallPolicies []policy.Policy
	// PerRetryPolicies are added to every attempt of a request (after the SDK's retry policy).
	PerRetryPolicies []policy.Policy
	// MarkerGrace is how old an outbox marker must be before it may be deleted: longer than any
	// commit can take between writing its marker and its transaction. Default 2 minutes.
	MarkerGrace time.Duration
	// Now is the clock of commit ordinals and marker ages; default time.Now.
	Now func() time.Time
	// Tracing is azcore's tracing provider (docs/operations.md): each Table call becomes a span
	// of the caller's trace. The zero value records nothing.
	Tracing tracing.Provider
}

// Store is the Table Storage domain.Store. Tables are created on first use, once per process.
type Store struct {
	svc   *aztables.ServiceClient
	grace time.Duration
	now   func() time.Time

	mu     sync.Mutex
	ready  map[string]bool // tables known to exist
	tables map[string]*aztables.Client
}

var _ domain.Store = (*Store)(nil)

// New builds a store without any network I/O.
func New(_ context.Context, cfg Config, opts *Options) (*Store, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.MarkerGrace <= 0 {
		o.MarkerGrace = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	copts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{PerCallPolicies: o.PerCallPolicies, PerRetryPolicies: o.PerRetryPolicies,
		TracingProvider: o.Tracing}}
	var svc *aztables.ServiceClient
	var err error
	switch {
	case cfg.ConnectionString != "" && cfg.ServiceURI != "":
		return nil, errors.New("tables: give a connection string or a service URI, not both")
	case cfg.ConnectionString != "":
		conn := cfg.ConnectionString
		if devstorage.Is(conn) {
			conn = devstorage.ConnString(devstorage.TablePort)
		}
		svc, err = aztables.NewServiceClientFromConnectionString(conn, copts)
		if err != nil {
			// Never echo it: it holds a key.
			return nil, errors.New("tables: the connection string is not valid: it needs AccountName with AccountKey or SharedAccessSignature (or UseDevelopmentStorage=true)")
		}
	case cfg.ServiceURI != "":
		cred, cerr := credential(cfg.ClientID)
		if cerr != nil {
			return nil, fmt.Errorf("tables: credential: %w", cerr)
		}
		svc, err = aztables.NewServiceClient(cfg.ServiceURI, cred, copts)
		if err != nil {
			return nil, fmt.Errorf("tables: service URI: %w", err)
		}
	default:
		return nil, errors.New("tables: a connection string or a service URI is required")
	}
	return &Store{svc: svc, grace: o.MarkerGrace, now: o.Now, ready: map[string]bool{}, tables: map[string]*aztables.Client{}}, nil
}

// credential is the Entra ID credential of clientID (identity.Credential).
var credential = identity.Credential

// table returns the client of name, creating the table on its first use in this process.
func (s *Store) table(ctx context.Context, name string) (*aztables.Client, error) {
	s.mu.Lock()
	c, ok := s.tables[name]
	if !ok {
		c = s.svc.NewClient(name)
		s.tables[name] = c
	}
	ready := s.ready[name]
	s.mu.Unlock()
	if ready {
		return c, nil
	}
	if _, err := c.CreateTable(ctx, nil); err != nil && code(err) != "TableAlreadyExists" {
		return nil, translate(err)
	}
	s.mu.Lock()
	s.ready[name] = true
	s.mu.Unlock()
	return c, nil
}
