package consistency

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/functions"
	"github.com/azlocal/registrar/shared/relay"
)

// host.json keeps requests and exceptions out of Application Insights' adaptive sampling, so a
// failed invocation is never sampled away (docs/operations.md). The host reads the types from
// logging.applicationInsights.samplingSettings.excludedTypes, a ";"-separated list, and samples
// unless isEnabled is false (Functions docs, "host.json reference for Azure Functions 2.x and
// later", applicationInsights.samplingSettings; host: the WebJobs Application Insights options
// set-up moves samplingSettings:ExcludedTypes into ApplicationInsightsLoggerOptions.SamplingExcludedTypes).
func TestHostJSONKeepsRequestsAndExceptionsOutOfSampling(t *testing.T) {
	var h struct {
		Logging struct {
			ApplicationInsights struct {
				SamplingSettings *struct {
					IsEnabled     *bool  `json:"isEnabled"`
					ExcludedTypes string `json:"excludedTypes"`
				} `json:"samplingSettings"`
			} `json:"applicationInsights"`
		} `json:"logging"`
	}
	readJSON(t, "host.json", &h)
	s := h.Logging.ApplicationInsights.SamplingSettings
	if s == nil || s.IsEnabled == nil || !*s.IsEnabled {
		t.Fatalf("host.json logging.applicationInsights.samplingSettings.isEnabled must be true (sampling on, with exclusions)")
	}
	types := strings.Split(s.ExcludedTypes, ";")
	slices.Sort(types)
	if d := cmp.Diff([]string{"Exception", "Request"}, types); d != "" {
		t.Errorf("host.json samplingSettings.excludedTypes (-want +got):\n%s", d)
	}
}

// alertQuery returns the query of a scheduledQueryRules resource's single criterion and the
// criterion's other settings (name → Bicep value).
func alertQuery(t *testing.T, src, file, symbol string) (string, map[string]string) {
	t.Helper()
	b := block(t, "\n"+src, file, symbol)
	if !strings.Contains(b, "'Microsoft.Insights/scheduledQueryRules@") {
		t.Fatalf("%s: %s is not a scheduledQueryRules resource", file, symbol)
	}
	m := regexp.MustCompile(`(?s)query: '''(.*?)'''`).FindStringSubmatch(b)
	if m == nil {
		t.Fatalf("%s: %s has no ''' query '''", file, symbol)
	}
	settings := map[string]string{}
	for _, kv := range regexp.MustCompile(`(?m)^\s+(timeAggregation|metricMeasureColumn|operator|threshold|windowSize|evaluationFrequency): (.+)$`).FindAllStringSubmatch(b, -1) {
		settings[kv[1]] = kv[2]
	}
	return m[1], settings
}

// The alert rules of docs/operations.md exist in infra/ and refer to what the code really emits:
// the queues the functions read (dead letters), the Admin function's name (whose 4xx answers are
// not failures), and the outbox age key and threshold OutboxRelay logs.
func TestInfraAlertsReferToTheCodesNames(t *testing.T) {
	const file = "infra/modules/monitoring.bicep"
	src := read(t, file)

	dl := block(t, "\n"+src, file, "deadLetters")
	for _, want := range []string{"'Microsoft.Insights/metricAlerts@", "metricName: 'DeadletteredMessages'",
		"name: 'EntityName', operator: 'Include', values: queueNames", "operator: 'GreaterThan'", "threshold: 0"} {
		if !strings.Contains(dl, want) {
			t.Errorf("%s: deadLetters lacks %q", file, want)
		}
	}
	main := read(t, "infra/main.bicep")
	mon := block(t, "\n"+main, "infra/main.bicep", "monitoring")
	m := regexp.MustCompile(`queueNames: \[([^\]]*)\]`).FindStringSubmatch(mon)
	if m == nil {
		t.Fatal("infra/main.bicep: module monitoring gets no queueNames")
	}
	vars := bicepVars(t)
	var queues []string
	for _, ident := range strings.Split(m[1], ",") {
		queues = append(queues, resolve(t, vars, ident))
	}
	slices.Sort(queues)
	if d := cmp.Diff([]string{defaultNames[config.EnvMachineEventsQueue], defaultNames[config.EnvRegistrationQueue]}, queues); d != "" {
		t.Errorf("dead-letter alert queues (-want +got):\n%s", d)
	}
	if !strings.Contains(mon, "serviceBusNamespaceName: split(serviceBus.outputs.host, '.')[0]") {
		t.Error("infra/main.bicep: module monitoring does not watch the namespace the serviceBus module creates")
	}

	q, s := alertQuery(t, src, file, "functionFailures")
	if !strings.Contains(q, "requests") || !strings.Contains(q, "success == false") ||
		!strings.Contains(q, `operation_Name == "`+functions.Admin+`"`) {
		t.Errorf("%s: functionFailures query %q: want failed requests, the %s function's 4xx left out", file, q, functions.Admin)
	}
	if s["operator"] != "'GreaterThan'" || s["threshold"] != "0" {
		t.Errorf("%s: functionFailures fires on %s %s, want GreaterThan 0", file, s["operator"], s["threshold"])
	}

	q, s = alertQuery(t, src, file, "outboxStale")
	col := regexp.MustCompile(`extend (\w+) = toint\(extract\("` + relay.LogOldestPendingSeconds + `\[\^0-9\]\+\(\[0-9\]\+\)", 1, message\)\)`).FindStringSubmatch(q)
	if col == nil || !strings.Contains(q, `message has "`+relay.LogOldestPendingSeconds+`"`) {
		t.Fatalf("%s: outboxStale query %q does not read %s from the relay's lines", file, q, relay.LogOldestPendingSeconds)
	}
	want := map[string]string{
		"metricMeasureColumn": "'" + col[1] + "'", "timeAggregation": "'Maximum'", "operator": "'GreaterThan'",
		"threshold": strconv.Itoa(int(relay.StaleAfter.Seconds())), "windowSize": "'PT15M'", "evaluationFrequency": "'PT5M'",
	}
	if d := cmp.Diff(want, s); d != "" {
		t.Errorf("%s: outboxStale criterion (-want +got):\n%s", file, d)
	}
}
