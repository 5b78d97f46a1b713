// Package config reads Registrar's settings (docs/settings.md) from the environment the Functions host
// gives the handler. Load collects every problem and reports them together; no error ever
// contains a connection string's secret.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/devstorage"
)

// StorageKind says which store RegistrarStorage selects.
type StorageKind string

// Storage kinds.
const (
	StorageMemory     StorageKind = "memory"     // in-process store (local runs and tests only)
	StorageConnection StorageKind = "connection" // a connection string (incl. UseDevelopmentStorage=true)
	StorageServiceURI StorageKind = "serviceUri" // identity-based: RegistrarStorage__tableServiceUri
)

// DevelopmentStorage is the connection string selecting Azurite's default endpoint.
const DevelopmentStorage = devstorage.Setting

// Storage is the RegistrarStorage setting.
type Storage struct {
	Kind             StorageKind
	ConnectionString string // StorageConnection: as given (a secret: never log it)
	ServiceURI       string // StorageServiceURI
	ClientID         string // optional user-assigned managed identity
}

// ServiceBus is the ServiceBusConnection setting; the zero value means "not configured".
type ServiceBus struct {
	ConnectionString        string // as given (a secret: never log it); may carry UseDevelopmentEmulator=true
	FullyQualifiedNamespace string // identity-based
	ClientID                string // optional user-assigned managed identity
}

// Configured reports whether a Service Bus connection was given.
func (s ServiceBus) Configured() bool {
	return s.ConnectionString != "" || s.FullyQualifiedNamespace != ""
}

// Config is every setting of docs/settings.md.
type Config struct {
	Port                      int // FUNCTIONS_CUSTOMHANDLER_PORT
	Storage                   Storage
	ServiceBus                ServiceBus
	RegistrationRequestsQueue string
	MachineEventsQueue        string
	EventsTopic               string
	Policy                    domain.Policy
	// Roles are the custom roles of the RoleDefinitions setting (a JSON array, or the path of a
	// file holding one), read and validated once, here; none means the built-in roles only.
	Roles       []auth.RoleDefinition
	AuthEnabled bool // WEBSITE_AUTH_ENABLED=True: Easy Auth sits in front and its principal header is trusted
	// CursorKeys are Admin__CursorKey's keys; nil: the deployment's generated key.
	CursorKeys [][]byte
}

// Setting names.
const (
	EnvPort                = "FUNCTIONS_CUSTOMHANDLER_PORT"
	EnvStorage             = "RegistrarStorage"
	EnvStorageServiceURI   = "RegistrarStorage__tableServiceUri"
	EnvStorageClientID     = "RegistrarStorage__clientId"
	EnvServiceBus          = "ServiceBusConnection"
	EnvServiceBusNamespace = "ServiceBusConnection__fullyQualifiedNamespace"
	EnvServiceBusClientID  = "ServiceBusConnection__clientId"
	EnvRegistrationQueue   = "RegistrationRequestsQueue"
	EnvMachineEventsQueue  = "MachineEventsQueue"
	EnvEventsTopic         = "EventsTopic"
	EnvRegions             = "Regions"
	EnvRoleDefinitions     = "RoleDefinitions"
	EnvAuthEnabled         = "WEBSITE_AUTH_ENABLED"
	EnvCursorKey           = "Admin__CursorKey"
)

// Load reads the settings through getenv (os.Getenv in production). Every invalid setting is
// named in the one returned error; the Config is only meaningful when the error is nil.
func Load(getenv func(string) string) (Config, error) {
	l := loader{getenv: getenv}
	c := Config{Policy: domain.DefaultPolicy()}

	switch p := l.get(EnvPort); {
	case p == "":
		l.fail(EnvPort, "is required (the Functions host sets it)")
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			l.fail(EnvPort, "must be a TCP port number (1-65535)")
		}
		c.Port = n
	}

	c.Storage = l.storage()
	c.ServiceBus = l.serviceBus()
	c.RegistrationRequestsQueue = l.name(EnvRegistrationQueue, string(domain.QueueRegistrationRequests))
	c.MachineEventsQueue = l.name(EnvMachineEventsQueue, string(domain.QueueMachineEvents))
	c.EventsTopic = l.name(EnvEventsTopic, "registration-events")

	p := &c.Policy
	l.duration("Policy__RegisterWindow", &p.RegisterWindow)
	l.duration("Policy__ClusterWindow", &p.ClusterWindow)
	l.duration("Policy__OfflineWindow", &p.OfflineWindow)
	l.duration("Policy__ConnectedWindow", &p.ConnectedWindow)
	l.duration("Policy__SyncInterval", &p.SyncInterval)
	l.durations("Policy__WarnBefore", &p.WarnBefore)
	l.durations("Policy__CredentialWarnBefore", &p.CredentialWarnBefore)
	l.duration("Orphan__SilenceWindow", &p.OrphanSilence)
	l.duration("Orphan__Grace", &p.OrphanGrace)
	l.duration("Reset__StallAfter", &p.ResetStallAfter)
	if v := l.get(EnvRegions); v != "" {
		var regions []string
		for r := range strings.SplitSeq(v, ",") {
			r = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(r), " ", ""))
			if r != "" {
				regions = append(regions, r)
			}
		}
		if len(regions) == 0 {
			l.fail(EnvRegions, "must list at least one region, comma-separated")
		}
		p.Regions = regions
	}

	roles, err := auth.ParseRoleDefinitions(l.get(EnvRoleDefinitions))
	if err != nil {
		l.fail(EnvRoleDefinitions, "%v", err)
	}
	c.Roles = roles
	switch v := strings.ToLower(l.get(EnvAuthEnabled)); v {
	case "", "false", "0":
	case "true", "1":
		c.AuthEnabled = true
	default:
		l.fail(EnvAuthEnabled, "must be True or False")
	}
	c.CursorKeys = l.cursorKeys()
	return c, l.err()
}

// MinCursorKey is the shortest Admin__CursorKey accepted, in bytes (before base64).
const MinCursorKey = 32

// cursorKeys reads Admin__CursorKey: comma-separated base64 keys of at least MinCursorKey bytes,
// the first sealing cursors, every one opening them (docs/admin-api.md, "Cursors"). A key is a
// secret: the error never shows it.
func (l *loader) cursorKeys() [][]byte {
	v := l.get(EnvCursorKey)
	if v == "" {
		return nil
	}
	var keys [][]byte
	for i, s := range strings.Split(v, ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "=")
		k, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			k, err = base64.RawURLEncoding.DecodeString(s)
		}
		if err != nil || len(k) < MinCursorKey {
			l.fail(EnvCursorKey, "key %d must be base64 of at least %d random bytes (e.g. openssl rand -base64 32)", i+1, MinCursorKey)
			return nil
		}
		keys = append(keys, k)
	}
	return keys
}

type loader struct {
	getenv   func(string) string
	problems []string
}

func (l *loader) get(name string) string { return strings.TrimSpace(l.getenv(name)) }

func (l *loader) fail(name, format string, args ...any) {
	l.problems = append(l.problems, name+" "+fmt.Sprintf(format, args...))
}

func (l *loader) err() error {
	if len(l.problems) == 0 {
		return nil
	}
	return errors.New("invalid settings: " + strings.Join(l.problems, "; "))
}

func (l *loader) name(env, def string) string {
	v := l.get(env)
	if v == "" {
		return def
	}
	if strings.ContainsAny(v, " /\\?#%") {
		l.fail(env, "is not a valid Service Bus entity name")
	}
	return v
}

// MaxPolicyDuration bounds every policy duration: a deadline is a message time (at most 2200,
// docs/messages.md) plus a few of them, and must stay a time the stores can key (before 2262).
const MaxPolicyDuration = 3650 * 24 * time.Hour

func (l *loader) duration(env string, dst *time.Duration) {
	v := l.get(env)
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > MaxPolicyDuration {
		l.fail(env, "must be a positive Go duration of at most 87600h (10 years) such as 720h (got %q)", v)
		return
	}
	*dst = d
}

func (l *loader) durations(env string, dst *[]time.Duration) {
	v := l.get(env)
	if v == "" {
		return
	}
	var out []time.Duration
	for s := range strings.SplitSeq(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d <= 0 || d > MaxPolicyDuration {
			l.fail(env, "must be comma-separated positive Go durations of at most 87600h such as 168h,24h (got %q)", v)
			return
		}
		out = append(out, d)
	}
	*dst = out
}

func (l *loader) storage() Storage {
	s := Storage{ClientID: l.get(EnvStorageClientID)}
	conn, uri := l.get(EnvStorage), l.get(EnvStorageServiceURI)
	switch {
	case conn != "" && uri != "":
		l.fail(EnvStorage, "and %s are both set: give one", EnvStorageServiceURI)
	case strings.EqualFold(conn, "memory"):
		s.Kind = StorageMemory
	case conn != "":
		s.Kind, s.ConnectionString = StorageConnection, conn
		if !devstorage.Is(conn) {
			// What the Table client accepts: an account name with its key or a SAS.
			kv, ok := parseConnectionString(conn)
			if !ok || kv["accountname"] == "" || kv["accountkey"] == "" && kv["sharedaccesssignature"] == "" {
				l.fail(EnvStorage, "must be memory, UseDevelopmentStorage=true or a Table Storage connection string with AccountName and AccountKey or SharedAccessSignature")
			}
		}
	case uri != "":
		s.Kind, s.ServiceURI = StorageServiceURI, uri
		if u, err := url.Parse(uri); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.fail(EnvStorageServiceURI, "must be an absolute https URL such as https://<account>.table.core.windows.net")
		}
	default:
		l.fail(EnvStorage, "is required: memory, UseDevelopmentStorage=true, a connection string, or %s", EnvStorageServiceURI)
	}
	return s
}

func (l *loader) serviceBus() ServiceBus {
	s := ServiceBus{ClientID: l.get(EnvServiceBusClientID)}
	conn, ns := l.get(EnvServiceBus), l.get(EnvServiceBusNamespace)
	switch {
	case conn != "" && ns != "":
		l.fail(EnvServiceBus, "and %s are both set: give one", EnvServiceBusNamespace)
	case conn != "":
		kv, ok := parseConnectionString(conn)
		if !ok || !strings.HasPrefix(strings.ToLower(kv["endpoint"]), "sb://") {
			l.fail(EnvServiceBus, "must be a Service Bus connection string (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…)")
		}
		s.ConnectionString = conn
	case ns != "":
		if strings.Contains(ns, "://") || strings.ContainsAny(ns, "/ ;") {
			l.fail(EnvServiceBusNamespace, "must be a host name such as <namespace>.servicebus.windows.net")
		}
		s.FullyQualifiedNamespace = ns
	}
	return s
}

// parseConnectionString splits "k=v;k=v" into lower-case keys. It reports false when a part
// has no '='. Values are never put into error messages.
func parseConnectionString(s string) (map[string]string, bool) {
	kv := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, false
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return kv, len(kv) > 0
}
