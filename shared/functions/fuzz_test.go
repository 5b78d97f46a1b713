package functions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/functions"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/store/memory"
)

// hostEnvelope builds the envelope the Functions host POSTs for a Service Bus message with body
// (docs/architecture.md; the host's rules in the test data of shared/invoke): Data.message is
// the body JSON-encoded twice (current hosts) or once (older ones); Metadata holds the system
// properties, then every top-level field of a JSON-object body, copied over them as the host
// does (strings encoded twice, numbers and booleans as text, objects as they are).
func hostEnvelope(body string, twice bool, id string) []byte {
	msg, _ := json.Marshal(body)
	if twice {
		msg, _ = json.Marshal(string(msg))
	}
	quoted := func(s string) json.RawMessage { b, _ := json.Marshal(strconv.Quote(s)); return b }
	meta := map[string]json.RawMessage{
		"MessageId": quoted(id), "DeliveryCount": json.RawMessage(`"1"`), "SequenceNumber": json.RawMessage(`"7"`),
		"EnqueuedTimeUtc": json.RawMessage(`"2026-11-01T12:00:00"`), "EnqueuedTime": json.RawMessage(`"2026-11-01T12:00:00+00:00"`),
		"ExpiresAtUtc": json.RawMessage(`"9999-12-31T23:59:59"`), "ExpiresAt": json.RawMessage(`"9999-12-31T23:59:59+00:00"`),
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &fields) == nil {
		for k, v := range fields {
			var s string
			switch t := strings.TrimSpace(string(v)); {
			case t == "null":
				continue
			case json.Unmarshal(v, &s) == nil:
				meta[k] = quoted(s)
			case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
				meta[k] = v
			default:
				meta[k], _ = json.Marshal(t)
			}
		}
	}
	env, _ := json.Marshal(map[string]any{"Data": map[string]json.RawMessage{"message": msg}, "Metadata": meta})
	return env
}

// FuzzEnvelope: through the stable seam (invoke.NewServer over the real functions, domain and
// memory store), a well-formed Service Bus envelope is always answered 2xx with a JSON object,
// whatever the message body: a bad body is a rejection recorded with 2xx, never a failure the
// host would redeliver ten times and dead-letter (docs/messages.md, "Validation"). The corpus
// (testdata/fuzz/FuzzEnvelope) holds the hostile bodies of FuzzDecode's, and those of bodies that
// carry system properties (EnqueuedTime, MessageId, DeliveryCount); plain `go test` runs it.
func FuzzEnvelope(f *testing.F) {
	f.Add(false, `{"type":"MachineInstalled","machine":"node1","installedAt":"9999-12-30T00:00:00Z"}`, true)
	f.Add(true, `{"type":"Register","clusterId":"0b5c5d6e-1111-4a2b-9c3d-aabbccddeeff","clusterName":"hci","tenantId":"0b5c5d6e-1111-4a2b-9c3d-aabbccddeeff","subscriptionId":"0b5c5d6e-1111-4a2b-9c3d-aabbccddeeff","region":"eastus","nodes":[{"name":"n1"}]}`, false)
	f.Add(false, `{"type":"Sync","pad":"`+strings.Repeat(`\"`, domain.MaxBodyBytes/2+10)+`"}`, true)
	seedFromDecodeCorpus(f)
	quiet := slog.New(slog.DiscardHandler)
	clk := clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	svc := domain.NewService(memory.New(nil), clk, &domain.Options{Logger: quiet})
	srv := invoke.NewServer(functions.New(functions.Deps{Domain: svc, Logger: quiet}), &invoke.ServerOptions{Logger: quiet})
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, commands bool, body string, twice bool) {
		fn := functions.MachineEvents
		if commands {
			fn = functions.RegistrationRequests
		}
		env := hostEnvelope(body, twice, fmt.Sprintf("fuzz-%d", n.Add(1)))
		req := httptest.NewRequest(http.MethodPost, "/"+fn, bytes.NewReader(env))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		res := w.Result()
		reply, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s answered %d to a well-formed envelope (the host would redeliver it): %s", fn, res.StatusCode, reply)
		}
		if ct, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err != nil || ct != "application/json" {
			t.Fatalf("Content-Type %q, want application/json", res.Header.Get("Content-Type"))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(reply, &obj); err != nil || obj == nil {
			t.Fatalf("reply is not one JSON object (%v): %s", err, reply)
		}
	})
}

// seedFromDecodeCorpus adds the decoder's committed corpus (each body on its own queue kind, both
// encodings), so the adapter meets every hostile body the decoder does.
func seedFromDecodeCorpus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "domain", "testdata", "fuzz", "FuzzDecode", "*"))
	if len(files) == 0 {
		f.Fatal("the decoder's corpus (shared/domain/testdata/fuzz/FuzzDecode) is missing")
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitN(string(raw), "\n", 4)
		if len(lines) < 3 {
			f.Fatalf("%s: not a corpus file", name)
		}
		queue, err1 := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		body, err2 := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[2], "string("), ")"))
		if err1 != nil || err2 != nil {
			f.Fatalf("%s: unreadable corpus entry", name)
		}
		for _, twice := range []bool{true, false} {
			f.Add(queue == string(domain.QueueRegistrationRequests), body, twice)
		}
	}
}
