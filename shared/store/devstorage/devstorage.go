// Package devstorage is the one definition of development storage: the setting
// `RegistrarStorage=UseDevelopmentStorage=true` (docs/settings.md) and the Azurite account it
// stands for, whose key is published with Azurite (public, not a secret).
package devstorage

import (
	"fmt"
	"strings"
)

const (
	// Setting is the connection string that selects Azurite's default endpoint.
	Setting = "UseDevelopmentStorage=true"
	// Account is Azurite's account name.
	Account = "devstoreaccount1"
	// Key is Azurite's published account key.
	Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	// TablePort is Azurite's default Table port.
	TablePort = 10002
)

// Is reports whether conn is Setting (any letter case, a trailing ";" allowed).
func Is(conn string) bool {
	return strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(conn, ";")), Setting)
}

// ConnString is the explicit connection string of an Azurite Table endpoint on 127.0.0.1:port.
func ConnString(port int) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		Account, Key, port, Account)
}
