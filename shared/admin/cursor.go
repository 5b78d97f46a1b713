package admin

import (
	"encoding/base32"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// keyTime formats a sort key's time: fixed width, so keys compare as strings in time order.
const keyTime = "2006-01-02T15:04:05.000000000Z"

var cursorEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// keyList names a list paged by sort key: kind tags its cursors, fields is its key's length;
// a key's first field is a time in keyTime format.
type keyList struct {
	kind   string
	fields int
}

var (
	upcomingList = keyList{"upcoming", 4} // deadline, cluster ID, policy, action
	orphansList  = keyList{"orphans", 2}  // grace end, cluster ID
)

// badCursor refuses a cursor the route did not give out.
func badCursor() *Problem {
	return invalid("cursor", "Not a cursor this API gave out; pass back nextCursor unchanged.")
}

// after reads p.Cursor: the key of the last item already listed, nil for the first page. A
// malformed cursor, or another list's, is refused.
func (l keyList) after(p domain.Page) ([]string, *Problem) {
	if p.Cursor == "" {
		return nil, nil
	}
	k, ok := l.decode(p.Cursor)
	if !ok {
		return nil, badCursor()
	}
	return k, nil
}

// keyPage pages a list computed whole: it orders all by key (a total order refining the
// domain's), keeps the items after the key after (nil: from the first), at most limit of them,
// and gives the last one's key as NextCursor when more remain. The cursor holds a key, not an
// offset, so items added or removed between calls neither repeat nor hide the others.
func keyPage[T any](all []T, after []string, limit int, l keyList, key func(T) []string) domain.PageOf[T] {
	type keyed struct {
		k []string
		v T
	}
	ks := make([]keyed, 0, len(all))
	for _, v := range all {
		ks = append(ks, keyed{key(v), v})
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return slices.Compare(a.k, b.k) })
	if after != nil {
		i, _ := slices.BinarySearchFunc(ks, after, func(x keyed, k []string) int {
			if slices.Compare(x.k, k) <= 0 {
				return -1
			}
			return 1
		})
		ks = ks[i:]
	}
	out := domain.PageOf[T]{Items: []T{}}
	for _, x := range ks[:min(limit, len(ks))] {
		out.Items = append(out.Items, x.v)
	}
	if len(ks) > limit {
		out.NextCursor = l.encode(ks[limit-1].k)
	}
	return out
}

// sealCursor makes an opaque, URL-safe cursor of fields; the first, its tag, names the list it
// belongs to.
func sealCursor(tag string, fields ...string) string {
	return cursorEnc.EncodeToString([]byte(strings.Join(append([]string{tag}, fields...), "\x00")))
}

// openCursor reads the fields of a cursor sealCursor made with tag; false for a malformed cursor
// or another list's.
func openCursor(tag, cursor string) ([]string, bool) {
	raw, err := cursorEnc.DecodeString(cursor)
	if err != nil {
		return nil, false
	}
	f := strings.Split(string(raw), "\x00")
	if f[0] != tag {
		return nil, false
	}
	return f[1:], true
}

func (l keyList) encode(key []string) string { return sealCursor(l.kind, key...) }

func (l keyList) decode(cursor string) ([]string, bool) {
	f, ok := openCursor(l.kind, cursor)
	if !ok || len(f) != l.fields {
		return nil, false
	}
	if _, err := time.Parse(keyTime, f[0]); err != nil {
		return nil, false
	}
	return f, true
}

func upcomingKey(d domain.Deadline) []string {
	return []string{d.Deadline.UTC().Format(keyTime), d.ClusterID, d.Policy, d.Action}
}

func orphanKey(o domain.OrphanView) []string {
	return []string{o.GraceUntil.UTC().Format(keyTime), o.ClusterID}
}

// seqCursorOf is a dead-letter cursor: the queue and the sequence number the next page starts at.
func seqCursorOf(queue string, next int64) string {
	return sealCursor("deadletters", queue, strconv.FormatInt(next, 10))
}

// seqCursor reads a dead-letter cursor of queue: the sequence number to start at, 0 for none.
// A malformed cursor, or another queue's, is refused.
func seqCursor(queue, cursor string) (int64, *Problem) {
	if cursor == "" {
		return 0, nil
	}
	f, ok := openCursor("deadletters", cursor)
	if !ok || len(f) != 2 || f[0] != queue {
		return 0, badCursor()
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n < 1 {
		return 0, badCursor()
	}
	return n, nil
}

// A storeList is a list the store pages; its cursors wrap the store's continuation with the
// list's scope (the route, and the cluster or filters it lists), so a cursor passed to another
// route, another cluster's history or other filters is refused rather than read as this one's.
type storeList string

// after unwraps p.Cursor into the store's continuation, refusing another scope's cursor.
func (l storeList) after(p domain.Page) (domain.Page, *Problem) {
	if p.Cursor == "" {
		return p, nil
	}
	f, ok := openCursor("store:"+string(l), p.Cursor)
	if !ok || len(f) != 1 || f[0] == "" {
		return p, badCursor()
	}
	p.Cursor = f[0]
	return p, nil
}

// storePage is the store's page with its NextCursor wrapped in l's scope and Items never null.
func storePage[T any](l storeList, res domain.PageOf[T]) domain.PageOf[T] {
	if res.NextCursor != "" {
		res.NextCursor = sealCursor("store:"+string(l), res.NextCursor)
	}
	return page(res)
}
