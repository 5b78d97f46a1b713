package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/azlocal/registrar/shared/api"
)

// Client calls the Admin API under {endpoint}/api/v1 through an azcore pipeline. With a scope,
// azcore's bearer-token policy adds the token: it is fetched once and reused for its lifetime
// (refreshed shortly before it expires), not fetched per request. It is safe for concurrent use.
type Client struct {
	endpoint string
	pl       runtime.Pipeline
}

// ClientOptions tune NewClient; nil means defaults.
type ClientOptions struct {
	// HTTP is the client used; nil means one with a 30 s timeout per request.
	HTTP *http.Client
	// Credential and Scope: when Scope is set, every request carries a bearer token that
	// Credential issues for it (to a plain-http endpoint only when it is a loopback address).
	Credential azcore.TokenCredential
	Scope      string
}

// NewClient returns a client for endpoint (e.g. http://127.0.0.1:7071).
func NewClient(endpoint string, opts *ClientOptions) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--endpoint %q is not an http(s) URL", endpoint)
	}
	if opts == nil {
		opts = &ClientOptions{}
	}
	hc := opts.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}}
	}
	var perRetry []policy.Policy
	if opts.Scope != "" {
		if opts.Credential == nil {
			return nil, usagef("--scope is set but no credential is available")
		}
		if u.Scheme != "https" && !isLoopback(u.Hostname()) {
			return nil, usagef("--endpoint %q: a token is sent only over https, or over http to a loopback address", endpoint)
		}
		perRetry = append(perRetry, runtime.NewBearerTokenPolicy(authFailures{opts.Credential}, []string{opts.Scope},
			&policy.BearerTokenOptions{InsecureAllowCredentialWithHTTP: isLoopback(u.Hostname())}))
	}
	// No retries: a command's request is sent once and its answer shown (the operator re-runs it).
	pl := runtime.NewPipeline("registrar", Version, runtime.PipelineOptions{PerRetry: perRetry},
		&policy.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1},
			Telemetry: policy.TelemetryOptions{ApplicationID: "registrar-cli"}})
	return &Client{endpoint: strings.TrimRight(endpoint, "/"), pl: pl}, nil
}

// isLoopback reports whether host is a loopback name or address (where a token may go over http).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authFailures marks the credential's errors, so that a request that failed for want of a token
// is told apart from one the endpoint did not answer.
type authFailures struct{ azcore.TokenCredential }

func (c authFailures) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, o)
	if err != nil {
		return tok, &AuthError{Err: err}
	}
	return tok, nil
}

// Endpoint is the base URL the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// call is one Admin API request: perm names the permission the route needs (for the 403 hint).
type call struct {
	method, path string
	query        url.Values
	body         any
	perm         string
}

// do sends the call and returns the 2xx body, or an *APIError, *UnreachableError or *AuthError.
func (c *Client) do(ctx context.Context, cl call) ([]byte, error) {
	u := c.endpoint + "/api/v1" + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	return c.send(ctx, cl.method, u, cl.body, nil, cl.perm)
}

// send does one request to the absolute URL u.
func (c *Client) send(ctx context.Context, method, u string, body any, header http.Header, perm string) ([]byte, error) {
	req, err := runtime.NewRequest(ctx, method, u)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Raw().Header[k] = v
	}
	req.Raw().Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(b)), "application/json"); err != nil {
			return nil, err
		}
	}
	res, err := c.pl.Do(req)
	var auth *AuthError
	switch {
	case errors.As(err, &auth):
		return nil, auth
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, &UnreachableError{Endpoint: c.endpoint, Err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, &UnreachableError{Endpoint: c.endpoint, Err: err}
	}
	if res.StatusCode/100 == 2 {
		return b, nil
	}
	e := &APIError{Status: res.StatusCode, Perm: perm}
	if json.Unmarshal(b, &e.Problem) != nil || e.Problem.Code == "" {
		e.Problem.Code = http.StatusText(res.StatusCode)
		e.Problem.Title = http.StatusText(res.StatusCode)
	}
	sanitize(&e.Problem)
	return nil, e
}

// Problem is an RFC 9457 problem details answer with the API's stable code.
type Problem = api.Problem

// APIError is a non-2xx answer of the Admin API.
type APIError struct {
	Status  int
	Problem Problem
	Perm    string // the permission the route needs
}

func (e *APIError) Error() string {
	msg := e.Problem.Code
	if e.Problem.Number != 0 {
		msg += fmt.Sprintf(" (%d)", e.Problem.Number)
	}
	if t := e.Problem.Title; t != "" && t != msg {
		msg += ": " + t
	}
	if d := e.Problem.Detail; d != "" {
		msg += " — " + d
	}
	if e.Problem.Field != "" {
		msg += " (field " + e.Problem.Field + ")"
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// UnreachableError means the endpoint could not be reached or did not answer.
type UnreachableError struct {
	Endpoint string
	Err      error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("Unreachable: cannot reach %s: %v", e.Endpoint, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// AuthError means no token could be had for the scope.
type AuthError struct{ Err error }

func (e *AuthError) Error() string {
	return "NotAuthenticated: no token for the scope: " + e.Err.Error()
}

func (e *AuthError) Unwrap() error { return e.Err }

// UsageError is a bad command line (Code "Usage"), or a destructive command refused for want of
// confirmation (Code "ConfirmationRequired"); both exit 2.
type UsageError struct{ Code, Msg string }

func (e *UsageError) Error() string {
	if e.Code == "" {
		return "Usage: " + e.Msg
	}
	return e.Code + ": " + e.Msg
}

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// RejectedError is a message the service rejected, or an operation that ended in failure;
// Number is the numeric code of Register-AzStackHCI's error (9104, ...), where it has one.
type RejectedError struct {
	Code   string
	Number int
	Reason string
}

func (e *RejectedError) Error() string {
	if e.Number != 0 {
		return fmt.Sprintf("%s (%d): %s", e.Code, e.Number, e.Reason)
	}
	return e.Code + ": " + e.Reason
}

const codeConfirm = "ConfirmationRequired"

// Exit codes (docs/cli.md#exit-codes).
const (
	ExitOK          = 0
	ExitFailed      = 1 // the service refused or failed
	ExitUsage       = 2
	ExitAuth        = 3 // 401/403, or a NotPermittedError
	ExitUnreachable = 4
)

// ExitCode maps an error to its exit code (docs/cli.md#exit-codes).
func ExitCode(err error) int {
	var (
		apiErr *APIError
		unr    *UnreachableError
		auth   *AuthError
		usage  *UsageError
		denied *NotPermittedError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &auth), errors.As(err, &denied):
		return ExitAuth
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden):
		return ExitAuth
	case errors.As(err, &unr):
		return ExitUnreachable
	}
	return ExitFailed
}

// roleFor names the built-in role that grants a permission (docs/admin-api.md).
func roleFor(perm string) string {
	switch {
	case perm == api.PermClustersRead:
		return api.RoleReader
	case slices.Contains(api.OperatorPermissions, perm):
		return api.RoleOperator
	}
	return api.RoleAdmin
}

// Hint says what to do about err, or "" when there is nothing to add.
func Hint(err error) string {
	var (
		apiErr *APIError
		unr    *UnreachableError
		auth   *AuthError
		usage  *UsageError
		tmo    *TimeoutError
		denied *NotPermittedError
	)
	switch {
	case errors.As(err, &denied):
		return fmt.Sprintf("send it without --wait (registrar status will not show it to you either), or use a context "+
			"(--context) whose roles grant %s on subscription %s (registrar whoami shows yours)", denied.Perm, denied.Subscription)
	case errors.As(err, &tmo):
		return "the operation goes on without you: look again later (registrar status, registrar reset status), or wait longer with --timeout"
	case errors.As(err, &usage) && usage.Code == codeConfirm:
		return "run it on a terminal to confirm, or add --yes"
	case errors.As(err, &usage):
		return "see --help"
	case errors.As(err, &auth):
		return "sign in: az login; check --scope"
	case errors.As(err, &unr):
		return "check --endpoint (or REGISTRAR_ENDPOINT) and that the service runs"
	case errors.As(err, &apiErr):
		switch apiErr.Status {
		case http.StatusUnauthorized:
			return "sign in: az login; check --scope"
		case http.StatusForbidden:
			if apiErr.Perm == "" {
				return "ask for a Registrar role that grants this action"
			}
			return fmt.Sprintf("you lack the permission %s: ask for the role %s", apiErr.Perm, roleFor(apiErr.Perm))
		case http.StatusNotFound:
			return "check the cluster ID and machine name (registrar list shows the known clusters)"
		case http.StatusBadRequest:
			return "fix the input named above"
		}
	}
	return ""
}
