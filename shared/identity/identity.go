// Package identity builds the Entra ID credential Registrar's Azure clients use: the one place
// that chooses between a user-assigned managed identity and the default credential chain.
package identity

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Credential is the user-assigned managed identity clientID when it is set (the
// `__clientId` settings of docs/settings.md), else DefaultAzureCredential (managed identity,
// workload identity, Azure CLI, ...). It does no I/O: tokens are fetched on first use.
func Credential(clientID string) (azcore.TokenCredential, error) {
	if clientID != "" {
		return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
	}
	return azidentity.NewDefaultAzureCredential(nil)
}
