package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// Limits of request input.
const (
	MaxBody      = 64 << 10 // bytes of a request body
	DefaultLimit = 100
	MaxLimit     = 1000
	maxCursor    = 2048
	maxWithin    = 3650 * 24 * time.Hour
)

var (
	cursorRE = regexp.MustCompile(`^[A-Za-z0-9._~:|=+/-]+$`)
	daysRE   = regexp.MustCompile(`^([0-9]{1,4})d$`)
)

// query checks a request's query string: only the allowed names, each at most once.
type query struct {
	v url.Values
}

func parseQuery(req *http.Request, allowed ...string) (query, *Problem) {
	v, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return query{}, invalid("query", "The query string is not valid URL encoding.")
	}
	for name, vals := range v {
		if !slices.Contains(allowed, name) {
			return query{}, invalid(name, fmt.Sprintf("Unknown query parameter; this route takes %s.", names(allowed)))
		}
		if len(vals) > 1 {
			return query{}, invalid(name, "The parameter is given more than once.")
		}
	}
	return query{v}, nil
}

func names(allowed []string) string {
	if len(allowed) == 0 {
		return "none"
	}
	return strings.Join(allowed, ", ")
}

func (q query) has(name string) bool   { return q.v.Has(name) }
func (q query) get(name string) string { return q.v.Get(name) }

// oneOf returns the parameter's value, "" when absent; any other value than choices is refused.
func (q query) oneOf(name string, choices ...string) (string, *Problem) {
	if !q.has(name) {
		return "", nil
	}
	v := q.get(name)
	if !slices.Contains(choices, v) {
		return "", invalid(name, fmt.Sprintf("Must be one of %s.", strings.Join(choices, ", ")))
	}
	return v, nil
}

// boolean parses true|false; required makes absence an error, else absence is def.
func (q query) boolean(name string, required, def bool) (bool, *Problem) {
	if !q.has(name) {
		if required {
			return false, invalid(name, "Required: say true or false explicitly.")
		}
		return def, nil
	}
	switch q.get(name) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalid(name, "Must be true or false.")
}

// page reads limit (1–1000, default 100) and cursor.
func (q query) page() (domain.Page, *Problem) {
	p := domain.Page{Limit: DefaultLimit}
	if q.has("limit") {
		n, err := strconv.Atoi(q.get("limit"))
		if err != nil || n < 1 || n > MaxLimit {
			return p, invalid("limit", fmt.Sprintf("Must be a whole number from 1 to %d.", MaxLimit))
		}
		p.Limit = n
	}
	if q.has("cursor") {
		c := q.get("cursor")
		if len(c) > maxCursor || !cursorRE.MatchString(c) {
			return p, invalid("cursor", "Not a cursor this API gave out; pass back nextCursor unchanged.")
		}
		p.Cursor = c
	}
	return p, nil
}

// within parses a Go duration or whole days ("7d"): more than zero, at most 3650 days.
func (q query) within(def time.Duration) (time.Duration, *Problem) {
	if !q.has("within") {
		return def, nil
	}
	s := q.get("within")
	var d time.Duration
	if m := daysRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, invalid("within", "Must be a Go duration (e.g. 36h) or whole days (e.g. 7d).")
		}
	}
	if d <= 0 || d > maxWithin {
		return 0, invalid("within", "Must be more than zero and at most 3650d.")
	}
	return d, nil
}

// clusterID validates the {clusterId} path value and returns it lower case.
func clusterID(req *http.Request) (string, *Problem) {
	id := req.PathValue("clusterId")
	if !domain.IsGUID(id) {
		return "", invalid("clusterId", "Must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
	}
	return strings.ToLower(id), nil
}

// machine validates the {machine} path value.
func machine(req *http.Request) (string, *Problem) {
	m := req.PathValue("machine")
	if !domain.IsMachineName(m) {
		return "", invalid("machine", "Must be 1–63 characters of letters, digits and '-'.")
	}
	return m, nil
}

// readBody decodes a JSON object body of at most MaxBody bytes into v, refusing unknown fields
// and trailing data; an empty body leaves v as it is.
func readBody(w http.ResponseWriter, req *http.Request, v any) *Problem {
	return readBodyUpTo(w, req, MaxBody, v)
}

// readBodyUpTo is readBody with a limit of its own.
func readBodyUpTo(w http.ResponseWriter, req *http.Request, limit int64, v any) *Problem {
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &Problem{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge, Title: "Request too large",
				Detail: fmt.Sprintf("The body exceeds %d bytes.", limit)}
		}
		return invalid("body", "The body could not be read.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return invalid(typeErr.Field, "The field has the wrong type.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "Unknown field.")
		}
		return invalid("body", "The body must be one JSON object.")
	}
	if dec.More() {
		return invalid("body", "The body must be one JSON object.")
	}
	return nil
}
