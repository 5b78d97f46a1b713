package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/azlocal/registrar/shared/domain"
)

// Cursors are authenticated, not only encoded (docs/admin-api.md, "Cursors"): a cursor is its
// fields (the first, its tag, names the list and scope it belongs to) and an HMAC-SHA256 of them
// under the deployment's cursor key, so an altered, truncated or foreign cursor (another list's,
// another deployment's) is refused with 400 before anything reads the store.

var cursorEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// macSize is how much of the HMAC-SHA256 a cursor carries: 128 bits.
const macSize = 16

// cursorKeyName names the deployment's stored cursor key (domain.Service.DeploymentKey).
const cursorKeyName = "admin-cursor"

// cursorKeys are the keys cursors are sealed with (the first) and opened with (any): the
// configured ones, else the deployment's stored key, read once.
type cursorKeys struct {
	configured [][]byte
	mu         sync.Mutex
	stored     []byte
}

// keys returns the keys, reading the stored one on first use (a failure is retried next time).
func (r *Router) keys(ctx context.Context) ([][]byte, error) {
	k := r.cursors
	if len(k.configured) > 0 {
		return k.configured, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stored == nil {
		key, err := r.d.Service.DeploymentKey(ctx, cursorKeyName)
		if err != nil {
			return nil, err
		}
		k.stored = key
	}
	return [][]byte{k.stored}, nil
}

func mac(key []byte, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(payload)
	return h.Sum(nil)[:macSize]
}

// seal makes an opaque, URL-safe, authenticated cursor of tag and fields.
func (r *Router) seal(ctx context.Context, tag string, fields ...string) (string, error) {
	keys, err := r.keys(ctx)
	if err != nil {
		return "", err
	}
	payload := []byte(strings.Join(append([]string{tag}, fields...), "\x00"))
	return cursorEnc.EncodeToString(append(payload, mac(keys[0], payload)...)), nil
}

// open reads the fields of a cursor seal made with tag. ok is false for a cursor that is not
// one, was altered or truncated, belongs to another list or was sealed with another key.
func (r *Router) open(ctx context.Context, tag, cursor string) (fields []string, ok bool, err error) {
	raw, derr := cursorEnc.DecodeString(cursor)
	if derr != nil || len(raw) <= macSize {
		return nil, false, nil
	}
	keys, err := r.keys(ctx)
	if err != nil {
		return nil, false, err
	}
	payload, sum := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	for _, k := range keys {
		if hmac.Equal(sum, mac(k, payload)) {
			f := strings.Split(string(payload), "\x00")
			return f[1:], f[0] == tag, nil
		}
	}
	return nil, false, nil
}

// badCursor refuses a cursor the route did not give out.
func badCursor() *Problem {
	return invalid("cursor", "Not a cursor this API gave out for this list; pass back nextCursor unchanged.")
}

// openOrRefuse is open with its outcome as the problem to answer (nil when ok).
func (r *Router) openOrRefuse(req *http.Request, tag, cursor string, fields int) ([]string, *Problem) {
	f, ok, err := r.open(req.Context(), tag, cursor)
	if err != nil {
		return nil, r.problemOf(req, err, nil)
	}
	if !ok || len(f) != fields || slices.Contains(f, "") {
		return nil, badCursor()
	}
	return f, nil
}

// seqCursorOf is a dead-letter cursor: the queue and the sequence number the next page starts at.
func (r *Router) seqCursorOf(ctx context.Context, queue string, next int64) (string, error) {
	return r.seal(ctx, "deadletters", queue, strconv.FormatInt(next, 10))
}

// seqCursor reads a dead-letter cursor of queue: the sequence number to start at, 0 for none.
// A cursor of another queue, or none this API sealed, is refused.
func (r *Router) seqCursor(req *http.Request, queue, cursor string) (int64, *Problem) {
	if cursor == "" {
		return 0, nil
	}
	f, pr := r.openOrRefuse(req, "deadletters", cursor, 2)
	if pr != nil {
		return 0, pr
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if f[0] != queue || err != nil || n < 1 {
		return 0, badCursor()
	}
	return n, nil
}

// A storeList is a list the domain or the store pages; its cursors wrap that continuation with
// the list's scope (the route, and the cluster or filters it lists), so a cursor passed to another
// route, another cluster's history or other filters is refused rather than read as this one's.
type storeList string

// after unwraps p.Cursor into the list's continuation, refusing another scope's cursor.
func (r *Router) after(req *http.Request, l storeList, p domain.Page) (domain.Page, *Problem) {
	if p.Cursor == "" {
		return p, nil
	}
	f, pr := r.openOrRefuse(req, "store:"+string(l), p.Cursor, 1)
	if pr != nil {
		return p, pr
	}
	p.Cursor = f[0]
	return p, nil
}

// writePage answers res with its NextCursor sealed in l's scope and Items never null.
func writePage[T any](r *Router, w http.ResponseWriter, req *http.Request, l storeList, res domain.PageOf[T]) {
	if res.NextCursor != "" {
		c, err := r.seal(req.Context(), "store:"+string(l), res.NextCursor)
		if err != nil {
			r.failure(w, req, err, nil)
			return
		}
		res.NextCursor = c
	}
	WriteJSON(w, http.StatusOK, page(res))
}
