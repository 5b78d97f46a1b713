package api

import (
	"strings"
	"time"
	"unicode"
)

// DeadLetter is one dead-lettered message as the admin API shows it (docs/admin-api.md).
type DeadLetter struct {
	MessageID      string    `json:"messageId"`
	CorrelationID  string    `json:"correlationId,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	ContentType    string    `json:"contentType,omitempty"`
	Reason         string    `json:"reason"`
	Description    string    `json:"description,omitempty"`
	DeliveryCount  int       `json:"deliveryCount"`
	EnqueuedTime   time.Time `json:"enqueuedTime"`
	SequenceNumber int64     `json:"sequenceNumber"`
	Preview        string    `json:"preview"` // first 200 characters of the body, control characters stripped, valid UTF-8
}

// ReplayReport says which dead letters were re-sent and which asked-for MessageIds were absent.
type ReplayReport struct {
	Replayed []string `json:"replayed"`
	NotFound []string `json:"notFound,omitempty"`
}

const previewLen = 200

// Preview is a safe preview of a body: valid UTF-8, control characters removed, at most 200
// characters.
func Preview(body []byte) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if n == previewLen {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
