package domain_test

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/azlocal/registrar/shared/domain"
)

// What the decoder accepts at the edges of its rules, the published schemas accept too
// (docs/schemas/README.md): both ends of the time range, a time written with a zero offset, and
// printable text in any script. Refusals at the same edges are cases of
// testdata/invalid_messages.json (TestInvalidMessagesRefusedByBoth).
func TestSchemaAndDecodeAcceptTheEdges(t *testing.T) {
	c := mustContracts(t)
	for _, body := range []string{
		`{"type":"MachineInstalled","machine":"node1","installedAt":"2000-01-01T00:00:00Z"}`,
		`{"type":"MachineInstalled","machine":"node1","installedAt":"2200-01-01T00:00:00Z"}`,
		`{"type":"MachineInstalled","machine":"node1","installedAt":"2199-12-31T23:59:59.999+00:00"}`,
		`{"type":"Sync","clusterId":"11111111-2222-4333-8444-555555555555","machine":"node1","biosConfigHash":"Zürich-東京-✓ ¡ tab-free"}`,
	} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		typ := doc.(map[string]any)["type"].(string)
		got := struct{ Schema, Decode string }{"accepted", "accepted"}
		if err := c.messages[typ].Validate(doc); err != nil {
			got.Schema = err.Error()
		}
		if _, err := domain.Decode(domain.QueueKind(c.raw[typ]["x-queue"].(string)), []byte(body)); err != nil {
			got.Decode = err.Error()
		}
		if got != (struct{ Schema, Decode string }{"accepted", "accepted"}) {
			t.Errorf("%s: %+v, want both to accept it", body, got)
		}
	}
}
