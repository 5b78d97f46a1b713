package bus_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

const queue = "registration-requests"

// deadLetter sends a message to the queue and dead-letters it through the SDK, as the host does
// after MaxDeliveryCount failed deliveries.
func deadLetter(t *testing.T, sb *azservicebus.Client, id, body string) {
	deadLetterWith(t, sb, id, "Register", body)
}

func deadLetterWith(t *testing.T, sb *azservicebus.Client, id, subject, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := sb.NewSender(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	corr, ct, session := "corr-"+id, "application/json", "c-1"
	err = s.SendMessage(ctx, &azservicebus.Message{
		MessageID: &id, CorrelationID: &corr, Subject: &subject, ContentType: &ct, SessionID: &session,
		Body: []byte(body), ApplicationProperties: map[string]any{"messageType": "Register", "attempt": int64(7)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sb.NewReceiverForQueue(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	var msgs []*azservicebus.ReceivedMessage
	for i := range 2 { // a failed delivery, then the one that dead-letters it
		msgs, err = r.ReceiveMessages(ctx, 1, nil)
		if err != nil || len(msgs) != 1 || msgs[0].MessageID != id {
			t.Fatalf("receive %s: %v %v", id, msgs, err)
		}
		if i == 0 {
			if err := r.AbandonMessage(ctx, msgs[0], nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	reason, desc := "MaxDeliveryCountExceeded", "delivered 10 times"
	if err := r.DeadLetterMessage(ctx, msgs[0], &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc}); err != nil {
		t.Fatal(err)
	}
}

func TestDeadLettersListAndReplay(t *testing.T) {
	conn := sbdouble.Start(t)
	sb := sdkClient(t, conn)
	c := newClient(t, conn)
	ctx := context.Background()
	long := "{\"clusterId\":\"c-1\",\x07\"note\":\"" + strings.Repeat("é", 300) + "\"}"
	deadLetter(t, sb, "m-1", long)
	deadLetter(t, sb, "m-2", `{"clusterId":"c-2"}`)

	list, err := c.DeadLetters(ctx, queue, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("DeadLetters = %d items, want 2: %+v", len(list), list)
	}
	d := list[0]
	if d.MessageID != "m-1" || d.Reason != "MaxDeliveryCountExceeded" || d.Description != "delivered 10 times" ||
		d.CorrelationID != "corr-m-1" || d.Subject != "Register" || d.ContentType != "application/json" ||
		d.SequenceNumber == 0 || d.EnqueuedTime.IsZero() || d.DeliveryCount != 2 {
		t.Fatalf("dead letter = %+v", d)
	}
	if n := len([]rune(d.Preview)); n != 200 || strings.ContainsRune(d.Preview, '\x07') || !strings.HasPrefix(d.Preview, `{"clusterId":"c-1","note"`) {
		t.Fatalf("preview (%d runes) = %q", n, d.Preview)
	}

	rep, err := c.Replay(ctx, queue, []string{"m-1", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Replayed, []string{"m-1"}) || !slices.Equal(rep.NotFound, []string{"nope"}) {
		t.Fatalf("Replay = %+v", rep)
	}
	left, err := c.DeadLetters(ctx, queue, 0, 10)
	if err != nil || len(left) != 1 || left[0].MessageID != "m-2" {
		t.Fatalf("after replaying m-1 the DLQ holds %+v (%v), want only m-2", left, err)
	}

	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r, err := sb.NewReceiverForQueue(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(rctx)
	msgs, err := r.ReceiveMessages(rctx, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive replayed: %v %v", msgs, err)
	}
	m := msgs[0]
	if m.MessageID != "m-1" || string(m.Body) != long || *m.CorrelationID != "corr-m-1" || *m.Subject != "Register" ||
		*m.ContentType != "application/json" || *m.SessionID != "c-1" {
		t.Fatalf("replayed message = %+v", m)
	}
	if m.ApplicationProperties["messageType"] != "Register" || m.ApplicationProperties["attempt"] != int64(7) {
		t.Fatalf("replayed properties = %v", m.ApplicationProperties)
	}
	if _, ok := m.ApplicationProperties["DeadLetterReason"]; ok {
		t.Fatalf("replayed message still carries DeadLetterReason: %v", m.ApplicationProperties)
	}

	rep, err = c.Replay(ctx, queue, nil)
	if err != nil || !slices.Equal(rep.Replayed, []string{"m-2"}) {
		t.Fatalf("Replay(all) = %+v, %v", rep, err)
	}
	if left, err := c.DeadLetters(ctx, queue, 0, 10); err != nil || len(left) != 0 {
		t.Fatalf("DLQ after replaying all = %+v, %v", left, err)
	}
}

func TestDeadLettersRejectUnknownQueue(t *testing.T) {
	c := newClient(t, "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true")
	_, err := c.DeadLetters(context.Background(), "other", 0, 10)
	var p *domain.Problem
	if !errors.As(err, &p) || p.Code != domain.CodeInvalidField {
		t.Fatalf("DeadLetters(other) = %v, want InvalidField", err)
	}
	if _, err := c.Replay(context.Background(), "other", nil); !errors.As(err, &p) {
		t.Fatalf("Replay(other) = %v, want InvalidField", err)
	}
}

func TestPreview(t *testing.T) {
	got := bus.Preview([]byte("a\x00b\nc\xffd"))
	if got != "abc\uFFFDd" {
		t.Fatalf("Preview = %q", got)
	}
}

func TestReplayKeepsTheDeadLetterWhenTheResendFails(t *testing.T) {
	conn := sbdouble.Start(t)
	sb := sdkClient(t, conn)
	c := newClient(t, conn)
	ctx := context.Background()
	// The double refuses a second send of a MessageId with this subject (its test hook).
	deadLetterWith(t, sb, "m-refused", "double:refuse-resend", `{"clusterId":"c-1"}`)

	rep, err := c.Replay(ctx, queue, nil)
	if err == nil || len(rep.Replayed) != 0 {
		t.Fatalf("Replay with a failing re-send = %+v, %v; want an error and nothing replayed", rep, err)
	}
	if !strings.Contains(err.Error(), "not-allowed") {
		t.Fatalf("Replay error = %v, want the send's refusal", err)
	}
	left, err := c.DeadLetters(ctx, queue, 0, 10)
	if err != nil || len(left) != 1 || left[0].MessageID != "m-refused" {
		t.Fatalf("the DLQ holds %+v (%v), want m-refused still there", left, err)
	}
	r, err := sb.NewReceiverForQueue(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	if peeked, err := r.PeekMessages(ctx, 10, nil); err != nil || len(peeked) != 0 {
		t.Fatalf("the queue holds %d messages (%v), want none", len(peeked), err)
	}
}

// TestDeadLettersPageBySequenceNumber: pages of 3 from the oldest, each starting at the last
// one's sequence number + 1, give 3+3+1 dead letters in order with no duplicates or gaps; a
// start past the newest gives none, and a start between two gives the later ones.
func TestDeadLettersPageBySequenceNumber(t *testing.T) {
	conn := sbdouble.Start(t)
	sb := sdkClient(t, conn)
	c := newClient(t, conn)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		id := "m-" + string(rune('a'+i))
		deadLetter(t, sb, id, `{}`)
		want = append(want, id)
	}
	var got []string
	var sizes []int
	var seqs []int64
	from := int64(0)
	for range 5 {
		page, err := c.DeadLetters(ctx, queue, from, 3)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page))
		for _, d := range page {
			got = append(got, d.MessageID)
			seqs = append(seqs, d.SequenceNumber)
		}
		if len(page) < 3 {
			break
		}
		from = page[len(page)-1].SequenceNumber + 1
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{3, 3, 1}) || !slices.IsSorted(seqs) {
		t.Fatalf("pages %v of %v (sequence numbers %v), want [3 3 1] of %v in order", sizes, got, seqs, want)
	}
	if rest, err := c.DeadLetters(ctx, queue, seqs[6]+1, 3); err != nil || len(rest) != 0 {
		t.Fatalf("from past the newest: %+v %v, want none", rest, err)
	}
	if rest, err := c.DeadLetters(ctx, queue, seqs[4], 0); err != nil || len(rest) != 3 || rest[0].MessageID != "m-e" {
		t.Fatalf("from the fifth's sequence number: %+v %v, want m-e, m-f, m-g", rest, err)
	}
}
