package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/azlocal/registrar/shared/api"
)

// queueTypes lists the message types each queue accepts (docs/messages.md).
var queueTypes = map[QueueKind][]string{
	QueueRegistrationRequests: {MsgRegister, MsgUnregister, MsgRepairRegistration, MsgStartMachineReset},
	QueueMachineEvents:        {MsgMachineInstalled, MsgClusterCreated, MsgSync, MsgResetProgress, MsgResetCompleted},
}

// Decode strictly decodes and validates one message body of the given queue (docs/messages.md). Unknown
// fields are ignored; GUIDs come back lower case. Every failure is a *Problem with one of the
// codes MessageTooLarge, MalformedMessage, UnknownMessageType, InvalidField or TooManyNodes.
func Decode(queue QueueKind, body []byte) (Message, error) {
	obj, err := readObject(body)
	if err != nil {
		return nil, err
	}
	d := decoder{obj: obj}
	typ := d.str("type", true)
	if d.err != nil {
		return nil, d.err
	}
	if !slices.Contains(queueTypes[queue], typ) {
		return nil, Reject(CodeUnknownMessageType, "message type %q is not accepted on queue %q", truncate(typ, 64), queue)
	}
	m := d.command(typ)
	if m == nil {
		m = d.fact(typ)
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// readObject reads body as exactly one JSON object of at most MaxBodyBytes.
func readObject(body []byte) (map[string]json.RawMessage, error) {
	if len(body) > MaxBodyBytes {
		return nil, Reject(CodeMessageTooLarge, "the message body is %d bytes; at most %d are accepted", len(body), MaxBodyBytes)
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, Reject(CodeMalformedMessage, "the message body is not one JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, Reject(CodeMalformedMessage, "the message body is not one JSON object")
	}
	return obj, nil
}

// command reads a registration request of type typ; nil for another type.
func (d *decoder) command(typ string) Message {
	switch typ {
	case MsgRegister:
		r := Register{
			ClusterID: d.guid("clusterId", true), ClusterName: d.name("clusterName", true),
			Cloud: CanonicalCloud(d.str("cloud", false)), TenantID: d.guid("tenantId", true), SubscriptionID: d.guid("subscriptionId", true),
			Region: d.str("region", true), ResourceGroup: d.resName("resourceGroup"), ResourceName: d.resName("resourceName"),
			ArcResourceGroup: d.resName("arcResourceGroup"), CreateResourceGroup: d.boolean("createResourceGroup"),
			OSVersion: d.version("osVersion", false), RequestedBy: d.str("requestedBy", false),
		}
		r.Nodes = d.nodes()
		r.ArcSPN = d.spn()
		return r
	case MsgUnregister:
		return Unregister{ClusterID: d.guid("clusterId", true), DisableOnlyArc: d.boolean("disableOnlyArc")}
	case MsgRepairRegistration:
		return RepairRegistration{ClusterID: d.guid("clusterId", true), ArcSPN: d.spn()}
	case MsgStartMachineReset:
		return StartMachineReset{ClusterID: d.guid("clusterId", true), Machine: d.machine("machine", true), Restart: d.boolean("restart")}
	}
	return nil
}

// fact reads a machine event of type typ; nil for another type.
func (d *decoder) fact(typ string) Message {
	switch typ {
	case MsgMachineInstalled:
		return MachineInstalled{ClusterID: d.guid("clusterId", false), Machine: d.machine("machine", true),
			InstalledAt: d.time("installedAt", true), OSVersion: d.version("osVersion", false)}
	case MsgClusterCreated:
		c := ClusterCreated{ClusterID: d.guid("clusterId", true), ClusterName: d.name("clusterName", false)}
		c.Nodes = d.machines("nodes")
		c.CreatedAt = d.time("createdAt", false)
		return c
	case MsgSync:
		return Sync{ClusterID: d.guid("clusterId", true), Machine: d.machine("machine", true),
			BiosConfigHash: d.str("biosConfigHash", false), ArcAgentVersion: d.str("arcAgentVersion", false),
			OSVersion: d.version("osVersion", false)}
	case MsgResetProgress:
		return d.resetProgress()
	case MsgResetCompleted:
		return d.resetCompleted()
	}
	return nil
}

// resetProgress reads a ResetProgress: a known stage, and status InProgress, Succeeded or Failed.
func (d *decoder) resetProgress() ResetProgress {
	p := ResetProgress{ClusterID: d.guid("clusterId", false), OperationID: d.opID("operationId"),
		Machine: d.machine("machine", true), Stage: d.str("stage", true), Status: d.str("status", true)}
	if d.err == nil && !validStage(p.Stage) {
		d.err = InvalidField("stage", "unknown stage %q: one of %s", truncate(p.Stage, 64), strings.Join(ResetStages, ", "))
	}
	if d.err == nil && p.Status != ResetInProgress && p.Status != ResetSucceeded && p.Status != ResetFailed {
		d.err = InvalidField("status", "status must be InProgress, Succeeded or Failed")
	}
	return p
}

// resetCompleted reads a ResetCompleted: result Succeeded or Failed.
func (d *decoder) resetCompleted() ResetCompleted {
	c := ResetCompleted{ClusterID: d.guid("clusterId", false), OperationID: d.opID("operationId"),
		Machine: d.machine("machine", true), Result: d.str("result", true), Error: d.str("error", false)}
	if d.err == nil && c.Result != ResetSucceeded && c.Result != ResetFailed {
		d.err = InvalidField("result", "result must be Succeeded or Failed")
	}
	return c
}

// peekCluster reads the cluster ID of a body that failed validation, when it is a valid GUID.
func peekCluster(body []byte) string { return peekGUID(body, "clusterId") }

// peekGUID reads the top-level string field of a body that failed validation: a GUID, lower
// case, or "" (not JSON, too large, absent, not a string, not a GUID).
func peekGUID(body []byte, field string) string {
	if len(body) > MaxBodyBytes {
		return ""
	}
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	val, ok := v[field]
	for _, k := range slices.Sorted(maps.Keys(v)) { // as encoding/json matches a field: any case
		if !ok && strings.EqualFold(k, field) {
			val, ok = v[k], true
		}
	}
	s, _ := val.(string)
	if !IsGUID(s) {
		return ""
	}
	return strings.ToLower(s)
}

// peekType reads the type of a body that failed validation, truncated, or "".
func peekType(body []byte) string {
	if len(body) > MaxBodyBytes {
		return ""
	}
	var v struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	s, _ := v.Type.(string)
	return EscapeControl(truncate(s, 64))
}

// decoder reads fields of one object, keeping the first problem.
type decoder struct {
	obj map[string]json.RawMessage
	err error
}

func (d *decoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = InvalidField(field, format, args...)
	}
}

// raw returns the field's JSON, or nil when absent or null.
func (d *decoder) raw(field string) json.RawMessage {
	r, ok := d.obj[field]
	if !ok || string(bytes.TrimSpace(r)) == "null" {
		return nil
	}
	return r
}

func (d *decoder) str(field string, required bool) string {
	return strField(d, d.obj, field, field, required)
}

func strField(d *decoder, obj map[string]json.RawMessage, key, path string, required bool) string {
	if d.err != nil {
		return ""
	}
	r, ok := obj[key]
	if !ok || string(bytes.TrimSpace(r)) == "null" {
		if required {
			d.fail(path, "%s is required", path)
		}
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) != nil {
		d.fail(path, "%s must be a string", path)
		return ""
	}
	if HasControl(s) {
		d.fail(path, "%s must not contain control characters", path)
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" && required {
		d.fail(path, "%s must not be empty", path)
	}
	if len(s) > 1024 {
		d.fail(path, "%s is longer than 1024 characters", path)
	}
	return s
}

func (d *decoder) guid(field string, required bool) string {
	s := d.str(field, required)
	if s != "" && !IsGUID(s) {
		d.fail(field, "%s must be a GUID", field)
		return ""
	}
	return strings.ToLower(s)
}

func (d *decoder) machine(field string, required bool) string {
	s := d.str(field, required)
	if s != "" && !IsMachineName(s) {
		d.fail(field, "%s must be 1-63 characters of letters, digits and hyphens", field)
	}
	return s
}

// name is a cluster name: the same alphabet as a machine name.
func (d *decoder) name(field string, required bool) string { return d.machine(field, required) }

// resName is an optional Azure resource or resource-group name (1-90 of letters, digits, - _ . ( )).
func (d *decoder) resName(field string) string {
	s := d.str(field, false)
	if s == "" {
		return ""
	}
	ok := len(s) <= 90 && !strings.HasSuffix(s, ".")
	for _, r := range s {
		ok = ok && (r < 128 && (isAlnum(byte(r)) || strings.ContainsRune("-_.()", r)))
	}
	if !ok {
		d.fail(field, "%s must be 1-90 characters of letters, digits, '-', '_', '.', '(' and ')', not ending in '.'", field)
		return ""
	}
	return s
}

func (d *decoder) opID(field string) string {
	s := d.str(field, true)
	if s != "" && (len(s) > 64 || !IsMachineName(s)) {
		d.fail(field, "%s must be an operation ID returned by StartMachineReset", field)
	}
	return strings.ToLower(s)
}

func (d *decoder) version(field string, required bool) string {
	s := d.str(field, required)
	if s == "" {
		return ""
	}
	if isBuild(s) {
		return s // kept as reported; Release maps it
	}
	if _, ok := versionKey(s); !ok {
		d.fail(field, "%s must be a release such as 20H2, 23H2 or 2508, or a build such as 10.0.25398.1189", field)
		return ""
	}
	return strings.ToUpper(s)
}

func (d *decoder) boolean(field string) bool {
	r := d.raw(field)
	if r == nil || d.err != nil {
		return false
	}
	var b bool
	if json.Unmarshal(r, &b) != nil {
		d.fail(field, "%s must be true or false", field)
	}
	return b
}

func (d *decoder) time(field string, required bool) time.Time {
	s := d.str(field, required)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail(field, "%s must be an RFC 3339 time", field)
		return time.Time{}
	}
	if !ValidTime(t) {
		d.fail(field, "%s must lie between %s and %s", field, MinTime.Format(time.DateOnly), MaxTime.Format(time.DateOnly))
		return time.Time{}
	}
	return t.UTC()
}

func (d *decoder) nodes() []RegisterNode {
	if d.err != nil {
		return nil
	}
	r := d.raw("nodes")
	if r == nil {
		d.fail("nodes", "nodes is required")
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(r, &items) != nil {
		d.fail("nodes", "nodes must be an array of objects")
		return nil
	}
	if len(items) == 0 {
		d.fail("nodes", "nodes must name at least one node")
		return nil
	}
	if len(items) > MaxNodes {
		d.err = Reject(CodeTooManyNodes, "%d nodes given; a cluster has at most %d", len(items), MaxNodes)
		return nil
	}
	out := make([]RegisterNode, 0, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		path := fmt.Sprintf("nodes[%d]", i)
		var obj map[string]json.RawMessage
		if json.Unmarshal(it, &obj) != nil || obj == nil {
			d.fail(path, "%s must be an object", path)
			return nil
		}
		n := RegisterNode{Name: strField(d, obj, "name", path+".name", true), BiosConfigHash: strField(d, obj, "biosConfigHash", path+".biosConfigHash", false)}
		if d.err != nil {
			return nil
		}
		if !IsMachineName(n.Name) {
			d.fail(path+".name", "%s.name must be 1-63 characters of letters, digits and hyphens", path)
			return nil
		}
		if seen[strings.ToLower(n.Name)] {
			d.fail(path+".name", "node %q is listed twice", n.Name)
			return nil
		}
		seen[strings.ToLower(n.Name)] = true
		out = append(out, n)
	}
	return out
}

func (d *decoder) machines(field string) []string {
	if d.err != nil {
		return nil
	}
	r := d.raw(field)
	if r == nil {
		d.fail(field, "%s is required", field)
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(r, &items) != nil {
		d.fail(field, "%s must be an array of machine names", field)
		return nil
	}
	if len(items) == 0 {
		d.fail(field, "%s must name at least one machine", field)
		return nil
	}
	if len(items) > MaxNodes {
		d.err = Reject(CodeTooManyNodes, "%d nodes given; a cluster has at most %d", len(items), MaxNodes)
		return nil
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", field, i)
		var s string
		if json.Unmarshal(it, &s) != nil || !IsMachineName(s) { // a machine name has no control characters
			d.fail(path, "%s must be a machine name: 1-63 characters of letters, digits and hyphens", path)
			return nil
		}
		if seen[strings.ToLower(s)] {
			d.fail(path, "machine %q is listed twice", s)
			return nil
		}
		seen[strings.ToLower(s)] = true
		out = append(out, s)
	}
	return out
}

func (d *decoder) spn() *ArcSPN {
	if d.err != nil {
		return nil
	}
	r := d.raw("arcSpn")
	if r == nil {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(r, &obj) != nil || obj == nil {
		d.fail("arcSpn", "arcSpn must be an object")
		return nil
	}
	sub := decoder{obj: obj}
	spn := &ArcSPN{AppID: sub.guid("appId", true), CredentialExpiresAt: sub.time("credentialExpiresAt", true)}
	if p, ok := sub.err.(*Problem); ok {
		p.Field = "arcSpn." + p.Field
		p.Reason = "arcSpn." + p.Reason
		d.err = p
		return nil
	}
	return spn
}

func validStage(s string) bool {
	for _, st := range ResetStages {
		if st == s {
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// IsMachineName reports whether s is 1-63 characters of [A-Za-z0-9-] (api.IsMachineName).
func IsMachineName(s string) bool { return api.IsMachineName(s) }

// IsGUID reports whether s is a GUID in 8-4-4-4-12 hex form (api.IsGUID).
func IsGUID(s string) bool { return api.IsGUID(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Message times lie within [MinTime, MaxTime] (docs/messages.md): no date outside can switch a
// 30-day window off (the zero time, year 1600) or push a deadline past what a key or a JSON
// time can hold (year 9999 plus a window is year 10000).
var (
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidTime reports whether t lies within [MinTime, MaxTime].
func ValidTime(t time.Time) bool { return !t.Before(MinTime) && !t.After(MaxTime) }

// HasControl reports whether s holds a character a terminal or page may act on instead of
// showing: a C0 or C1 control, DEL, or a bidirectional formatting character (docs/messages.md).
func HasControl(s string) bool {
	for _, r := range s {
		if isControl(r) {
			return true
		}
	}
	return false
}

func isControl(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r)
}

// EscapeControl writes each character HasControl refuses as a Go escape (\x1b, \u202e), keeping
// the rest as it is: for text recorded from a message that failed validation.
func EscapeControl(s string) string {
	if !HasControl(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
