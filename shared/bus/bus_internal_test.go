package bus

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestCredentialChoice(t *testing.T) {
	cred, err := credential("11111111-2222-3333-4444-555555555555")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cred.(*azidentity.ManagedIdentityCredential); !ok {
		t.Fatalf("with a client ID: %T, want *azidentity.ManagedIdentityCredential", cred)
	}
	cred, err = credential("")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cred.(*azidentity.DefaultAzureCredential); !ok {
		t.Fatalf("without a client ID: %T, want *azidentity.DefaultAzureCredential", cred)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	conn := "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true"
	bad := map[string]Config{
		"neither":  {Topic: "t"},
		"both":     {ConnectionString: conn, Namespace: "ns.servicebus.windows.net", Topic: "t"},
		"no topic": {ConnectionString: conn},
	}
	for name, cfg := range bad {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	_, err := New(Config{ConnectionString: "SharedAccessKey=s3cret;Nonsense", Topic: "t"}, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("bad connection string: %v (must fail without quoting it)", err)
	}
	// Identity-based: no network I/O happens in New, so this succeeds offline.
	c, err := New(Config{Namespace: "registrar.servicebus.windows.net", ClientID: "11111111-2222-3333-4444-555555555555", Topic: "t"}, nil)
	if err != nil || c == nil {
		t.Fatalf("identity-based New = %v", err)
	}
}
