package functions

import "net/http"

// adminFunction is Admin: the admin API's handler, served for /api/v1/... (docs/admin-api.md). Without
// one every request answers 503 problem details.
func adminFunction(d Deps) http.Handler {
	if d.Admin == nil {
		return http.HandlerFunc(unavailable)
	}
	return d.Admin
}

func unavailable(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"type":"about:blank","title":"The admin API is not available","status":503,"code":"Unavailable"}`))
}
