package domain_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
)

// BenchmarkDecodeRegister measures strict decoding of a 16-node Register.
func BenchmarkDecodeRegister(b *testing.B) {
	names := make([]string, 16)
	for i := range names {
		names[i] = "node" + strconv.Itoa(i)
	}
	raw, _ := json.Marshal(register(cA, "hci-01", names...))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := domain.Decode(domain.QueueRegistrationRequests, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSync measures one Sync through HandleMessage (decode, load, decide, commit) on the
// scenario suite's stores.
func BenchmarkSync(b *testing.B) {
	for name, mk := range storeFactories {
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, mk)
			raw, _ := json.Marshal(register(cA, "hci-01", "n1", "n2", "n3"))
			if _, err := h.svc.HandleMessage(context.Background(), domain.QueueRegistrationRequests, raw, domain.Meta{MessageID: "r"}); err != nil {
				b.Fatal(err)
			}
			body := []byte(`{"type":"Sync","clusterId":"` + cA + `","machine":"n2","biosConfigHash":"h","arcAgentVersion":"1.45"}`)
			i := 0
			for b.Loop() {
				i++
				res, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, body,
					domain.Meta{MessageID: "s" + strconv.Itoa(i), EnqueuedAt: h.clk.Now()})
				if err != nil || res.Outcome == domain.Rejected {
					b.Fatal(err, res.Problem)
				}
			}
		})
	}
}
