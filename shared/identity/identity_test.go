package identity

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestCredentialChoice(t *testing.T) {
	mi, err := Credential("00000000-0000-0000-0000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mi.(*azidentity.ManagedIdentityCredential); !ok {
		t.Errorf("with a client ID: %T, want *azidentity.ManagedIdentityCredential", mi)
	}
	def, err := Credential("")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := def.(*azidentity.DefaultAzureCredential); !ok {
		t.Errorf("without a client ID: %T, want *azidentity.DefaultAzureCredential", def)
	}
}
