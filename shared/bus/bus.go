// Package bus is Registrar's Service Bus client (docs/events.md, docs/admin-api.md): it publishes events on the topic
// and lists and replays dead letters. It wraps one azservicebus client, created once; no network
// I/O happens until the first send or receive.
package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/identity"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where Service Bus is. Exactly one of ConnectionString (including
// UseDevelopmentEmulator=true) and Namespace (identity-based) is set.
type Config struct {
	ConnectionString string
	Namespace        string   // fully qualified, e.g. ns.servicebus.windows.net (identity-based)
	ClientID         string   // user-assigned managed identity; "" = DefaultAzureCredential
	Topic            string   // the events topic
	Queues           []string // queues whose dead letters may be listed and replayed
}

// Options tune a Client; nil means defaults.
type Options struct {
	// Retry overrides DefaultRetry.
	Retry *azservicebus.RetryOptions
	// TracerProvider records each send as a producer span (docs/operations.md); nil: none.
	// (azservicebus itself has no tracing; the events' own traceparent does not depend on it.)
	TracerProvider trace.TracerProvider
}

// DefaultRetry bounds the SDK's retries so the worst case fits well inside the 5-minute function
// timeout: 4 attempts with backoff delays of at most 0.5 s + 1 s + 2 s = 3.5 s between them.
// Each attempt is further bounded by the caller's context: the invocation's request, which ends
// when the host gives up on it (functionTimeout) and closes the connection.
var DefaultRetry = azservicebus.RetryOptions{MaxRetries: 3, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 2 * time.Second}

// Client publishes events and manages dead letters. It is safe for concurrent use.
type Client struct {
	cfg    Config
	sb     *azservicebus.Client
	tracer trace.Tracer
	traced bool // a real (not no-op) tracer provider was given

	mu      sync.Mutex
	senders map[string]*azservicebus.Sender
}

// New returns a Client; it validates cfg and opens no connection.
func New(cfg Config, opts *Options) (*Client, error) {
	if (cfg.ConnectionString == "") == (cfg.Namespace == "") {
		return nil, errors.New("bus: set exactly one of ConnectionString and Namespace")
	}
	if cfg.Topic == "" {
		return nil, errors.New("bus: Topic is required")
	}
	retry := DefaultRetry
	var tp trace.TracerProvider = noop.NewTracerProvider()
	if opts != nil && opts.Retry != nil {
		retry = *opts.Retry
	}
	if opts != nil && opts.TracerProvider != nil {
		tp = opts.TracerProvider
	}
	copts := &azservicebus.ClientOptions{RetryOptions: retry}
	var sb *azservicebus.Client
	var err error
	if cfg.ConnectionString != "" {
		sb, err = azservicebus.NewClientFromConnectionString(cfg.ConnectionString, copts)
	} else {
		var cred azcore.TokenCredential
		if cred, err = credential(cfg.ClientID); err == nil {
			sb, err = azservicebus.NewClient(cfg.Namespace, cred, copts)
		}
	}
	if err != nil {
		// The SDK's message may quote the connection string: never pass it on.
		return nil, errors.New("bus: invalid Service Bus connection settings")
	}
	_, off := tp.(noop.TracerProvider)
	return &Client{cfg: cfg, sb: sb, tracer: tp.Tracer(tracerName), traced: !off, senders: map[string]*azservicebus.Sender{}}, nil
}

// credential is the Entra ID credential of clientID (identity.Credential).
var credential = identity.Credential

// Close closes the senders and the connection.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, s := range c.senders {
		_ = s.Close(ctx)
		delete(c.senders, name)
	}
	return c.sb.Close(ctx)
}

func (c *Client) sender(entity string) (*azservicebus.Sender, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.senders[entity]; ok {
		return s, nil
	}
	s, err := c.sb.NewSender(entity, nil)
	if err != nil {
		return nil, fmt.Errorf("bus: sender for %s: %w", entity, err)
	}
	c.senders[entity] = s
	return s, nil
}

func (c *Client) checkQueue(queue string) error {
	if !slices.Contains(c.cfg.Queues, queue) {
		return domain.InvalidField("queue", "%q is not one of Registrar's queues", queue)
	}
	return nil
}
