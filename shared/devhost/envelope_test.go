package devhost

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDecodeHTTPOutput(t *testing.T) {
	cases := []struct {
		name, res string
		status    int
		body      string
	}{
		{"number status, object body", `{"statusCode":201,"body":{"a":1, "b":[2]}}`, 201, `{"a":1,"b":[2]}`},
		{"string status, array body", `{"statusCode":"202","body":[1, 2]}`, 202, `[1,2]`},
		{"base64 string is decoded", `{"statusCode":200,"body":"PGI+aGk8L2I+"}`, 200, `<b>hi</b>`},
		{"other string as is", `{"statusCode":200,"body":"{\"a\":1}"}`, 200, `{"a":1}`},
		{"no output", ``, 200, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeHTTPOutput(json.RawMessage(c.res))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.status || string(got.Body) != c.body {
				t.Errorf("got %d %q, want %d %q", got.Status, got.Body, c.status, c.body)
			}
		})
	}
	if _, err := decodeHTTPOutput(json.RawMessage(`{"statusCode":"teapot"}`)); err == nil {
		t.Error("a non-numeric statusCode was accepted")
	}
}

func TestMessageEnvelopeIsTheHosts(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	m := &Message{MessageID: "m-1", CorrelationID: "c-1", ContentType: "application/json",
		Body: []byte(`{"type":"Sync","DeliveryCount":7,"n":null}`), EnqueuedTime: at, SequenceNumber: 17}
	env := messageEnvelope(Function{Name: "MachineEvents", Binding: "message"}, m, 3, "lock", at)
	raw, _ := json.Marshal(env)
	var got struct {
		Data     map[string]string
		Metadata map[string]any
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	var once string
	if err := json.Unmarshal([]byte(got.Data["message"]), &once); err != nil || once != string(m.Body) {
		t.Fatalf("Data.message %q is not the body encoded twice", got.Data["message"])
	}
	want := map[string]any{
		"MessageId": `"m-1"`, "CorrelationId": `"c-1"`, "ContentType": `"application/json"`, "LockToken": `"lock"`,
		"EnqueuedTimeUtc": "2026-05-01T10:00:00", "EnqueuedTime": "2026-05-01T10:00:00+00:00",
		"SequenceNumber": "17", "type": `"Sync"`,
		"DeliveryCount": `"7"`, // the body's field overwrites the system key, as on the host
	}
	for k, v := range want {
		if got.Metadata[k] != v {
			t.Errorf("Metadata[%s] = %#v, want %#v", k, got.Metadata[k], v)
		}
	}
	if _, ok := got.Metadata["n"]; ok {
		t.Error("a null body field was copied into Metadata")
	}
	if _, ok := got.Metadata["ApplicationProperties"].(map[string]any); !ok {
		t.Error("ApplicationProperties is not an object")
	}
}
