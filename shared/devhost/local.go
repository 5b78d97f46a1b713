package devhost

import (
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The runner's local Admin principal serves only the person at this machine (README.md, Local
// runner): localOnly refuses, with 403, a request whose Host is not a loopback name or
// address (a page on another site reaching the runner through DNS rebinding names its own host),
// and a browser's cross-site write: a non-GET request whose Origin is not the runner's own, or a
// form content type (what a cross-site HTML form can send without asking) on a mutating Admin
// route.
func localOnly(w http.ResponseWriter, req *http.Request) bool {
	if !IsLoopbackHost(req.Host) {
		problem(w, http.StatusForbidden, "NotLocal",
			"The local runner serves only requests addressed to a loopback host (127.0.0.1, ::1 or localhost).")
		return false
	}
	if req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions {
		return true
	}
	if origin := req.Header.Get("Origin"); origin != "" && !strings.EqualFold(origin, "http://"+req.Host) {
		problem(w, http.StatusForbidden, "CrossSiteRequest", "The local runner refuses writes from another origin.")
		return false
	}
	if strings.HasPrefix(req.URL.Path, "/api/") && formContentType(req.Header.Get("Content-Type")) {
		problem(w, http.StatusForbidden, "CrossSiteRequest",
			"The local runner refuses a form content type on a mutating Admin route (send JSON, or no body).")
		return false
	}
	return true
}

// formContentType reports the content types an HTML form sends.
func formContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" || mt == "text/plain"
}

// IsLoopbackHost reports whether host (a Host header or listen address, with or without a port)
// names this machine only: localhost, a name under .localhost, or a loopback address.
func IsLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
