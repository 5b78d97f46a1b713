package tables

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/azlocal/registrar/shared/domain"
)

// key makes s safe as (part of) a PartitionKey or RowKey: Table keys forbid / \ # ? and control
// characters and are at most 1 KiB. Plain strings of [A-Za-z0-9-_.:@] up to 200 bytes are kept;
// anything else becomes "~" + base64url (or "~h" + a SHA-256 for long ones). "~" is not plain,
// so the two forms never collide.
func key(s string) string {
	if len(s) <= 200 && s != "" {
		plain := true
		for i := 0; i < len(s) && plain; i++ {
			c := s[i]
			plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:@", c) >= 0
		}
		if plain {
			return s
		}
	}
	if len(s) > 300 {
		sum := sha256.Sum256([]byte(s))
		return "~h" + base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ordinal is a fixed-width, ascending key part; inverted sorts newest first.
func ordinal(n int64) string  { return fmt.Sprintf("%019d", n) }
func inverted(n int64) string { return fmt.Sprintf("%019d", math.MaxInt64-n) }

// quote is an OData string literal: single quotes doubled.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// prefixFilter selects a partition's rows whose RowKey starts with prefix.
func prefixFilter(pk, prefix string) string {
	return fmt.Sprintf("PartitionKey eq %s and RowKey ge %s and RowKey lt %s", quote(pk), quote(prefix), quote(prefixEnd(prefix)))
}

// prefixEnd is the least key after every key starting with prefix (its last byte + 1).
func prefixEnd(prefix string) string {
	return prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
}

// cursor is the opaque form of a Table continuation (partition and row key).
type cursor struct {
	PK string `json:"p,omitempty"`
	RK string `json:"r,omitempty"`
}

func encodeCursor(pk, rk *string) string {
	if pk == nil && rk == nil {
		return ""
	}
	c := cursor{}
	if pk != nil {
		c.PK = *pk
	}
	if rk != nil {
		c.RK = *rk
	}
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(append([]byte("t1:"), raw...))
}

func decodeCursor(s string) (pk, rk *string, err error) {
	if s == "" {
		return nil, nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err != nil || len(raw) < 3 || string(raw[:3]) != "t1:" || json.Unmarshal(raw[3:], &c) != nil {
		return nil, nil, fmt.Errorf("tables: %w: malformed cursor", domain.ErrInvalidCursor)
	}
	return &c.PK, &c.RK, nil
}
