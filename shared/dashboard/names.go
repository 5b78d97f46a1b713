package dashboard

import (
	"encoding/json"
	"strconv"

	"github.com/azlocal/registrar/shared/domain"
)

// statusLists are status names of the cluster view by field, in the order the page lists them
// (a field left out is not listed).
type statusLists struct {
	RegistrationStatus []string `json:"registrationStatus"`
	ConnectionStatus   []string `json:"connectionStatus"`
	ClusterStatus      []string `json:"clusterStatus,omitempty"`
	Orphan             []string `json:"orphan"`
	CredentialExpired  []string `json:"credentialExpired,omitempty"`
}

// pageNames are the names the page shows, from the domain's constants: its one source of them,
// served as names.js (the global NAMES), so app.js keeps no copy. Overview is the order of the
// overview's counts; Filters the clusters list's filters and their choices.
var pageNames = struct {
	Overview statusLists `json:"overview"`
	Filters  statusLists `json:"filters"`
}{
	Overview: statusLists{
		RegistrationStatus: []string{domain.StatusRegistered, domain.StatusNotYet, domain.StatusOutOfPolicy},
		ConnectionStatus:   []string{domain.StatusConnected, domain.StatusDisconnect, domain.StatusOutOfPolicy, domain.StatusNotYet},
		ClusterStatus:      []string{domain.StatusClustered, domain.StatusNotYet, domain.StatusOutOfPolicy},
		Orphan:             []string{domain.OrphanNone, domain.OrphanSuspected, domain.OrphanCleanedUp},
	},
	Filters: statusLists{
		RegistrationStatus: domain.RegistrationStatuses(),
		ConnectionStatus:   domain.ConnectionStatuses(),
		Orphan:             domain.OrphanStatuses(),
		CredentialExpired:  []string{strconv.FormatBool(true), strconv.FormatBool(false)},
	},
}

// namesAsset is the served names.js.
const namesAsset = "names.js"

// namesJS is names.js: pageNames as the global NAMES.
func namesJS() []byte {
	b, err := json.Marshal(pageNames)
	if err != nil {
		panic(err) // string slices always marshal
	}
	return append(append([]byte("// Generated from the Go constants (shared/dashboard/names.go).\nconst NAMES = "), b...), ";\n"...)
}
