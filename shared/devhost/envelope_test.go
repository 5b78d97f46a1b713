package devhost

import (
	"encoding/json"
	"testing"
	"time"
)

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
