package devhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"
)

// Trigger kinds of a function, as named in function.json.
const (
	HTTPTrigger       = "httpTrigger"
	ServiceBusTrigger = "serviceBusTrigger"
	TimerTrigger      = "timerTrigger"
)

// HTTPMode is how the host passes an HTTP-triggered function's requests to the handler
// (docs/architecture.md).
type HTTPMode string

// The host's three ways with an HTTP request.
const (
	// HTTPEnvelope: POST /{Function} with Data.req; the res output is written to the client.
	HTTPEnvelope HTTPMode = "envelope"
	// HTTPForward (host.json enableForwardingHttpRequest): the request is rebuilt and sent to its
	// own path; the buffered response goes back as it is.
	HTTPForward HTTPMode = "forward"
	// HTTPProxy (host.json enableProxyingHttpRequest): the live request is reverse-proxied to its
	// own path and the response streamed back. A host that knows it prefers it to forwarding.
	HTTPProxy HTTPMode = "proxy"
)

// Function is what the runner needs to know about one function folder.
type Function struct {
	Name    string   // the folder name: the path the handler is POSTed to
	Trigger string   // HTTPTrigger, ServiceBusTrigger or TimerTrigger
	Binding string   // the trigger binding's name: the key in the envelope's Data
	Queue   string   // ServiceBusTrigger: the queue name, %Setting% resolved
	Route   string   // HTTPTrigger: the route template, e.g. "v1/{*path}"
	Methods []string // HTTPTrigger: allowed methods, upper case; empty means any
	Output  string   // HTTPTrigger: the name of the http output binding ("res", or "$return"), "" for none
	// OutputDataType is the http output binding's dataType ("binary" turns off the host's
	// base64 decoding of a $return string).
	OutputDataType string
	// HTTPMode is how the host passes this function's requests, from host.json's customHandler
	// keys: forwarding and proxying apply only to a function whose one input binding is an
	// httpTrigger and whose one output binding is an http one; any other gets the envelope.
	HTTPMode HTTPMode
	// Schedule is a TimerTrigger's NCRONTAB expression (six fields, seconds first).
	Schedule string
	schedule cron.Schedule
	inputs   int // bindings with direction in (the trigger included)
	outputs  int // bindings with direction out
}

// direct reports whether the host may forward or proxy the function's requests: exactly one
// input binding, an httpTrigger, and exactly one output binding, an http one (host
// FunctionMetadataExtensions.IsHttpInAndOutFunction).
func (f Function) direct() bool {
	return f.Trigger == HTTPTrigger && f.inputs == 1 && f.outputs == 1 && f.Output != ""
}

// Describe is a one-line summary of the function's trigger, for the start-up banner.
func (f Function) Describe() string {
	switch f.Trigger {
	case HTTPTrigger:
		m := "any method"
		if len(f.Methods) > 0 {
			m = strings.Join(f.Methods, ",")
		}
		return fmt.Sprintf("http  /api/%s (%s, %s)", f.Route, m, f.HTTPMode)
	case ServiceBusTrigger:
		return "queue " + f.Queue
	default:
		return "timer " + f.Schedule
	}
}

// FindRoot walks up from dir to the first directory holding host.json.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "host.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devhost: no host.json in this directory or any parent (use -root)")
		}
		dir = parent
	}
}

var settingRef = regexp.MustCompile(`%([^%]+)%`)

// LoadFunctions reads root/functions/*/function.json (the folders next to host.json), resolving
// %Setting% references with getenv. Every problem is reported in one error.
func LoadFunctions(root string, getenv func(string) string) ([]Function, error) {
	if _, err := os.Stat(filepath.Join(root, "host.json")); err != nil {
		return nil, fmt.Errorf("devhost: %s has no host.json", root)
	}
	paths, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("devhost: no functions/*/function.json under %s", root)
	}
	host, err := ReadHost(root)
	if err != nil {
		return nil, err
	}
	var fns []Function
	var errs []error
	for _, p := range paths {
		fn, err := loadFunction(p, getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fn.Trigger == HTTPTrigger {
			fn.HTTPMode = host.mode(fn)
		}
		fns = append(fns, fn)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(fns, func(a, b Function) int { return strings.Compare(a.Name, b.Name) })
	return fns, nil
}

// Host is what the runner reads from host.json: the customHandler keys that make the host
// forward or proxy HTTP requests (both are read by current hosts; each ignores a key it does not
// know).
type Host struct {
	EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
}

// ReadHost reads root/host.json's customHandler section.
func ReadHost(root string) (Host, error) {
	raw, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return Host{}, fmt.Errorf("devhost: %w", err)
	}
	var doc struct {
		CustomHandler Host `json:"customHandler"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Host{}, fmt.Errorf("devhost: host.json: %w", err)
	}
	return doc.CustomHandler, nil
}

// mode is how a host with these settings passes fn's requests: proxying first, then
// forwarding, for a function that qualifies (host DefaultHttpWorkerService.InvokeAsync).
func (h Host) mode(fn Function) HTTPMode {
	switch {
	case !fn.direct():
		return HTTPEnvelope
	case h.EnableProxyingHTTPRequest:
		return HTTPProxy
	case h.EnableForwardingHTTPRequest:
		return HTTPForward
	}
	return HTTPEnvelope
}

type bindingJSON struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	DataType  string   `json:"dataType"`
	QueueName string   `json:"queueName"`
	Schedule  string   `json:"schedule"`
	Route     string   `json:"route"`
	Methods   []string `json:"methods"`
}

// loadFunction reads the function.json at path: the function named after its folder, with its
// one trigger (settings resolved by getenv) and its HTTP output.
func loadFunction(path string, getenv func(string) string) (Function, error) {
	name := filepath.Base(filepath.Dir(path))
	raw, err := os.ReadFile(path)
	if err != nil {
		return Function{}, fmt.Errorf("devhost: %s: %w", name, err)
	}
	var doc struct {
		Bindings []bindingJSON `json:"bindings"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Function{}, fmt.Errorf("devhost: %s/function.json: %w", name, err)
	}
	fn := Function{Name: name}
	for _, b := range doc.Bindings {
		if err := fn.bind(b, getenv); err != nil {
			return Function{}, err
		}
	}
	if err := fn.checkTrigger(); err != nil {
		return Function{}, err
	}
	return fn, nil
}

// bind adds binding b to fn: it counts as an input or an output, and is fn's HTTP output or its
// trigger (one at most).
func (fn *Function) bind(b bindingJSON, getenv func(string) string) error {
	switch {
	case strings.EqualFold(b.Direction, "in"):
		fn.inputs++
	case strings.EqualFold(b.Direction, "out"):
		fn.outputs++
	}
	switch {
	case b.Type == "http" && strings.EqualFold(b.Direction, "out"):
		fn.Output, fn.OutputDataType = b.Name, b.DataType
	case b.Type == HTTPTrigger || b.Type == ServiceBusTrigger || b.Type == TimerTrigger:
		if fn.Trigger != "" {
			return fmt.Errorf("devhost: %s has more than one trigger", fn.Name)
		}
		fn.Trigger, fn.Binding = b.Type, b.Name
		fn.Route, fn.Schedule = b.Route, b.Schedule
		for _, m := range b.Methods {
			fn.Methods = append(fn.Methods, strings.ToUpper(m))
		}
		q, err := resolve(b.QueueName, getenv)
		if err != nil {
			return fmt.Errorf("devhost: %s queueName: %w", fn.Name, err)
		}
		fn.Queue = q
	}
	return nil
}

// checkTrigger checks fn's trigger is one the runner supports and complete: a queue names its
// queue, a timer's schedule parses; an HTTP route defaults to the function's name.
func (fn *Function) checkTrigger() error {
	switch fn.Trigger {
	case "":
		return fmt.Errorf("devhost: %s has no trigger the runner supports", fn.Name)
	case ServiceBusTrigger:
		if fn.Queue == "" {
			return fmt.Errorf("devhost: %s names no queue", fn.Name)
		}
	case TimerTrigger:
		s, err := ParseSchedule(fn.Schedule)
		if err != nil {
			return fmt.Errorf("devhost: %s: %w", fn.Name, err)
		}
		fn.schedule = s
	case HTTPTrigger:
		if fn.Route == "" {
			fn.Route = fn.Name
		}
	}
	return nil
}

// resolve replaces %Setting% references with their values; an unset setting is an error.
func resolve(s string, getenv func(string) string) (string, error) {
	var missing []string
	out := settingRef.ReplaceAllStringFunc(s, func(ref string) string {
		v := getenv(strings.Trim(ref, "%"))
		if v == "" {
			missing = append(missing, ref)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("setting %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

var ncrontab = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseSchedule parses a six-field NCRONTAB expression (seconds first), as the timer trigger does.
func ParseSchedule(expr string) (cron.Schedule, error) {
	if n := len(strings.Fields(expr)); n != 6 {
		return nil, fmt.Errorf("schedule %q has %d fields, want 6 (seconds first)", expr, n)
	}
	s, err := ncrontab.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return s, nil
}
