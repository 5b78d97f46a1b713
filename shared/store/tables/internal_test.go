package tables

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azlocal/registrar/shared/domain"
)

func TestCredentialChoice(t *testing.T) {
	mi, err := credential("00000000-0000-0000-0000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mi.(*azidentity.ManagedIdentityCredential); !ok {
		t.Fatalf("with a client ID: %T, want *azidentity.ManagedIdentityCredential", mi)
	}
	def, err := credential("")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := def.(*azidentity.DefaultAzureCredential); !ok {
		t.Fatalf("without a client ID: %T, want *azidentity.DefaultAzureCredential", def)
	}
}

func TestNewDoesNoIOAndHidesSecrets(t *testing.T) {
	// Port 1 refuses connections: New must still succeed (tables are created on first use).
	s, err := New(context.Background(), Config{ConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
		"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// The first use reports the unreachable service as transient (retried by the platform).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Load(ctx, "c1", ""); !errors.Is(err, domain.ErrTransient) {
		t.Fatalf("Load against a closed port: %v, want ErrTransient", err)
	}
	if _, err := New(context.Background(), Config{ConnectionString: "AccountKey=s3cret-key;nonsense"}, nil); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("bad connection string error %v must exist and not echo the key", err)
	}
	dev, err := New(context.Background(), Config{ConnectionString: DevelopmentStorage}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.svc.NewClient("Clusters"); got == nil {
		t.Fatal("no client")
	}
}

func TestKeys(t *testing.T) {
	for _, s := range []string{"a/b", `a\b`, "a#b", "a?b", "a\x01b", "~plain", "' or 1 eq 1 or '"} {
		k := key(s)
		for _, c := range k {
			if c == '/' || c == '\\' || c == '#' || c == '?' || c < 0x20 || c == '\'' {
				t.Fatalf("key(%q) = %q holds a forbidden character", s, k)
			}
		}
	}
	if key("c1-AB") != "c1-AB" {
		t.Fatal("plain keys must stay readable")
	}
	if key("~x") == "~x" || key(string(make([]byte, 5000))) == "" || len(key(string(make([]byte, 5000)))) > 100 {
		t.Fatal("encoded keys must not collide with plain ones and stay short")
	}
}

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&azcore.ResponseError{StatusCode: 412, ErrorCode: "UpdateConditionNotSatisfied"}, domain.ErrConflict},
		{&azcore.ResponseError{StatusCode: 409, ErrorCode: "EntityAlreadyExists"}, domain.ErrConflict},
		{&azcore.ResponseError{StatusCode: 404, ErrorCode: "ResourceNotFound"}, domain.ErrNotFound},
		{&azcore.ResponseError{StatusCode: 429}, domain.ErrTransient},
		{&azcore.ResponseError{StatusCode: 408}, domain.ErrTransient},
		{&azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"}, domain.ErrTransient},
		{errors.New("dial tcp: connection refused"), domain.ErrTransient},
	} {
		if got := translate(tc.err); !errors.Is(got, tc.want) {
			t.Errorf("translate(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	bad := translate(&azcore.ResponseError{StatusCode: 400, ErrorCode: "InvalidInput"})
	if errors.Is(bad, domain.ErrTransient) || errors.Is(bad, domain.ErrConflict) || !strings.Contains(bad.Error(), "InvalidInput") {
		t.Errorf("400 = %v: a permanent error naming its code", bad)
	}
	if !errors.Is(translate(context.Canceled), context.Canceled) {
		t.Error("cancellation must stay cancellation")
	}
}

// An unreadable At column is an error, never the zero time that would make a marker look ancient.
func TestRowAtRefusesUnreadableTimes(t *testing.T) {
	var r row
	r.setAt(time.Date(2026, 11, 1, 12, 0, 0, 5, time.UTC))
	if at, err := r.at(); err != nil || !at.Equal(time.Date(2026, 11, 1, 12, 0, 0, 5, time.UTC)) {
		t.Fatalf("at() = %v, %v", at, err)
	}
	r.At = "yesterday"
	if at, err := r.at(); err == nil {
		t.Fatalf("at() of %q = %v, want an error", r.At, at)
	}
}

// The tables the Bicep template creates are exactly the tables this store uses.
func TestBicepCreatesTheStoresTables(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "infra", "modules", "storage.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`param tableNames array = \[([^\]]*)\]`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("storage.bicep: no `param tableNames array = [...]`")
	}
	var bicep []string
	for _, q := range regexp.MustCompile(`'([^']+)'`).FindAllSubmatch(m[1], -1) {
		bicep = append(bicep, string(q[1]))
	}
	used := []string{tableClusters, tableRejections, tableFleet, tableLookup}
	slices.Sort(bicep)
	slices.Sort(used)
	if !slices.Equal(bicep, used) {
		t.Errorf("storage.bicep creates %v; the store uses %v", bicep, used)
	}
}
