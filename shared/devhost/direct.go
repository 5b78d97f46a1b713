package devhost

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/azlocal/registrar/shared/logs"
)

// HostVersion is the version the runner gives as the host's (X-Azure-Functions-HostVersion,
// User-Agent Azure-Functions-Host/<version>).
const HostVersion = "4.0.0-devhost"

// Headers the host adds to every request it sends the handler.
const (
	headerInvocationID = "X-Azure-Functions-InvocationId"
	headerHostVersion  = "X-Azure-Functions-HostVersion"
	userAgent          = "Azure-Functions-Host/" + HostVersion
)

// newProxy is the host's reverse proxy for enableProxyingHttpRequest (host
// Workers/Http/DefaultHttpWorkerService.cs ProxyInvocationRequest and
// HttpProxyService/DefaultHttpProxyService.cs, over YARP's forwarder with its default transforms):
// the live request goes to its own path and query on the handler, with the client's headers,
// X-Forwarded-For/-Proto/-Host added, Host set to the handler's address, and
// X-Azure-Functions-InvocationId and -HostVersion set (replacing any the client sent); the
// handler's status, headers (hop-by-hop ones aside) and body stream back. A handler that cannot
// be reached fails the invocation: 500.
func (r *Runner) newProxy(target *url.URL, transport http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Header.Set(headerInvocationID, newID())
			pr.Out.Header.Set(headerHostVersion, HostVersion)
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			r.log.Warn("devhost: proxied HTTP invocation failed", "path", req.URL.Path, logs.Err(err))
			w.WriteHeader(http.StatusInternalServerError)
		},
	}
}

// forward passes req as a host with enableForwardingHttpRequest does (host
// Workers/Http/DefaultHttpWorkerService.cs ProcessHttpInAndOutInvocationRequest, and
// Extensions/HttpRequestExtensions.cs ToHttpRequestMessage): a request rebuilt to the same path,
// its query rebuilt from the parsed values (a repeated name's values joined with commas), the
// client's headers (its Host included) with X-Azure-Functions-HostVersion and -InvocationId added
// after any the client sent and the host's product appended to User-Agent, and a body only when
// the request has a Content-Length. Redirects are not followed; the buffered response goes back
// with its status, headers and body.
func (r *Runner) forward(w http.ResponseWriter, req *http.Request, fn Function) {
	var body io.Reader = http.NoBody
	if req.ContentLength > 0 {
		body = req.Body
	}
	out, err := http.NewRequestWithContext(req.Context(), req.Method, r.target+req.URL.EscapedPath()+forwardedQuery(req.URL.RawQuery), body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for k, vs := range req.Header {
		if !hopByHop(k) && k != "Content-Type" && k != "Content-Length" {
			out.Header[k] = append([]string(nil), vs...)
		}
	}
	out.Host = req.Host
	if req.ContentLength > 0 {
		out.ContentLength = req.ContentLength
		if ct := req.Header.Get("Content-Type"); ct != "" {
			out.Header.Set("Content-Type", ct)
		}
	}
	out.Header.Add(headerHostVersion, HostVersion)
	out.Header.Add(headerInvocationID, newID())
	out.Header.Set("User-Agent", strings.TrimSpace(req.Header.Get("User-Agent")+" "+userAgent))
	res, err := r.forwarder.Do(out)
	if err != nil {
		r.log.Warn("devhost: forwarded HTTP invocation failed", "function", fn.Name, logs.Err(err))
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for k, vs := range res.Header {
		if !hopByHop(k) {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(b)
}

// forwardedQuery is the query a forwarding host sends: each name once, in order of first
// appearance, its values joined with commas, names and values escaped as .NET's
// Uri.EscapeDataString does (ASP.NET QueryHelpers.AddQueryString over the parsed query).
func forwardedQuery(raw string) string {
	var names []string
	values := map[string][]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, kerr := url.QueryUnescape(k)
		v, verr := url.QueryUnescape(v)
		if kerr != nil || verr != nil {
			continue
		}
		if _, seen := values[k]; !seen {
			names = append(names, k)
		}
		values[k] = append(values[k], v)
	}
	var b strings.Builder
	for i, k := range names {
		b.WriteString(map[bool]string{true: "?", false: "&"}[i == 0])
		b.WriteString(escapeData(k) + "=" + escapeData(strings.Join(values[k], ",")))
	}
	return b.String()
}

// escapeData escapes everything but letters, digits and -._~ (space as %20).
func escapeData(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// hopByHop reports the headers a proxy does not pass on.
func hopByHop(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// noRedirects makes a client return a redirect instead of following it.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
