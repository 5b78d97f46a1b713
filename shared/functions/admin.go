package functions

import (
	"net/http"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/api/apihttp"
)

// adminFunction is Admin: the admin API's handler, served for /api/v1/... (docs/admin-api.md). Without
// one every request answers 503 problem details.
func adminFunction(d Deps) http.Handler {
	if d.Admin == nil {
		return http.HandlerFunc(unavailable)
	}
	return d.Admin
}

func unavailable(w http.ResponseWriter, _ *http.Request) {
	apihttp.WriteProblem(w, &api.Problem{Title: "The admin API is not available", Status: http.StatusServiceUnavailable, Code: "Unavailable"})
}
