package admin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// firstCursor lists target with limit=1 and returns the nextCursor it gave out.
func firstCursor(t *testing.T, e *env, target string) string {
	t.Helper()
	var p domain.PageOf[struct{}]
	decode(t, e.call("GET", target+"limit=1", reader, ""), &p)
	if p.NextCursor == "" {
		t.Fatalf("%s: no nextCursor: the test needs two items", target)
	}
	return p.NextCursor
}

// refused asserts that cursor on target is 400 InvalidField naming cursor.
func refused(t *testing.T, e *env, target, cursor, why string) {
	t.Helper()
	w := e.call("GET", target+"limit=1&cursor="+url.QueryEscape(cursor), reader, "")
	if w.Code != http.StatusBadRequest {
		t.Errorf("%s: %s cursor answered %d %s, want 400", target, why, w.Code, w.Body)
		return
	}
	if p := problem(t, w, http.StatusBadRequest, domain.CodeInvalidField); p.Field != "cursor" {
		t.Errorf("%s: %s cursor: field %q, want cursor", target, why, p.Field)
	}
}

func accepted(t *testing.T, e *env, target, cursor, why string) {
	t.Helper()
	if w := e.call("GET", target+"limit=1&cursor="+url.QueryEscape(cursor), reader, ""); w.Code != http.StatusOK {
		t.Errorf("%s: %s cursor answered %d %s, want 200", target, why, w.Code, w.Body)
	}
}

// twoOfEach seeds e with two items of every list: clusters registered, rejected, disconnected (so
// each has an upcoming offline deadline), suspected orphans, with history; standalone machines.
func twoOfEach(t *testing.T, e *env) {
	t.Helper()
	for i := 1; i <= 2; i++ {
		e.register(clusterN(i), fmt.Sprint("hci-", i), "2508")
		installed := fmt.Sprintf(`{"type":"MachineInstalled","machine":"loose-%d","installedAt":%q}`, i, e.clk.Now().Format(time.RFC3339))
		if _, err := e.svc.HandleMessage(context.Background(), queueMachine, []byte(installed),
			domain.Meta{MessageID: fmt.Sprint("loose-", i), EnqueuedAt: e.clk.Now(), Queue: queueMachine}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.HandleMessage(context.Background(), queueReq, []byte(`{"type":"Nope"}`),
			domain.Meta{MessageID: fmt.Sprint("bad-", i), EnqueuedAt: e.clk.Now(), Queue: queueReq}); err != nil {
			t.Fatal(err)
		}
	}
	silent(t, e, 91*24*time.Hour)
	e.dl.n = map[string]int{queueReq: 3}
}

// silent moves the clock by d while one more cluster keeps syncing (so the mass-disconnect guard
// is off), then sweeps: the clusters registered before fall silent (Disconnected after a day,
// suspected orphans after 90).
func silent(t *testing.T, e *env, d time.Duration) {
	t.Helper()
	const live = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	e.register(live, "hci-live", "2508")
	e.clk.Set(e.clk.Now().Add(d))
	body := `{"type":"Sync","clusterId":"` + live + `","machine":"node1"}`
	if _, err := e.svc.HandleMessage(context.Background(), queueMachine, []byte(body), domain.Meta{MessageID: "sync-live", EnqueuedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckPolicies(context.Background(), domain.SweepRun{ID: "run"}); err != nil {
		t.Fatal(err)
	}
}

// Cursors are authenticated (docs/admin-api.md, "Cursors"): on every list, an altered,
// truncated or re-encoded cursor, another list's, and another deployment's are 400
// InvalidField cursor; the list's own is accepted.
func TestCursorsAreAuthenticated(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	e := newEnv(t, envOptions{store: memory.New(nil), cursorKeys: [][]byte{key}})
	other := newEnv(t, envOptions{store: memory.New(nil), cursorKeys: [][]byte{bytes.Repeat([]byte{8}, 32)}})
	twoOfEach(t, e)
	twoOfEach(t, other)
	lists := []string{"/api/v1/clusters?", "/api/v1/clusters?registrationStatus=Registered&", "/api/v1/clusters/" + clusterN(1) + "/history?",
		"/api/v1/rejections?", "/api/v1/policy/upcoming?within=3650d&", "/api/v1/orphans?", "/api/v1/deadletters/" + queueReq + "?",
		"/api/v1/machines/standalone?"}
	own := map[string]string{}
	for _, l := range lists {
		own[l] = firstCursor(t, e, l)
	}
	for _, l := range lists {
		c := own[l]
		accepted(t, e, l, c, "its own")
		flip := []byte(c)
		flip[len(flip)/2] ^= 'A' ^ 'B'
		refused(t, e, l, string(flip), "an altered")
		refused(t, e, l, c[:len(c)-1], "a truncated")
		refused(t, e, l, c[:len(c)/2], "a half")
		refused(t, e, l, "MFRGG", "a forged")
		refused(t, e, l, firstCursor(t, other, l), "another deployment's")
		for _, m := range lists {
			if m != l {
				refused(t, e, l, own[m], "another list's ("+m+")")
			}
		}
	}
}

// Rotation: with Admin__CursorKey "new,old" the new key seals and both open, so cursors given out
// before the rotation still work; once the old key is dropped they are refused.
func TestCursorKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	st := memory.New(nil)
	before := newEnv(t, envOptions{store: st, cursorKeys: [][]byte{oldKey}})
	twoOfEach(t, before)
	const target = "/api/v1/rejections?"
	c := firstCursor(t, before, target)
	during := newEnv(t, envOptions{store: st, cursorKeys: [][]byte{newKey, oldKey}})
	accepted(t, during, target, c, "an old-key")
	fresh := firstCursor(t, during, target)
	after := newEnv(t, envOptions{store: st, cursorKeys: [][]byte{newKey}})
	accepted(t, after, target, fresh, "a new-key")
	refused(t, after, target, c, "a dropped key's")
}

// Without a configured key, instances sharing a store share the key generated on first use (one
// conditional insert wins), so a client's next page may be served by any instance.
func TestGeneratedCursorKeyIsSharedByInstances(t *testing.T) {
	st := memory.New(nil)
	var envs []*env
	for range 4 {
		envs = append(envs, newEnv(t, envOptions{store: st}))
	}
	twoOfEach(t, envs[0])
	const target = "/api/v1/rejections?"
	cursors := make([]string, len(envs))
	var wg sync.WaitGroup
	for i, e := range envs { // first use at once: the racing inserts must agree on one key
		wg.Go(func() {
			var p domain.PageOf[struct{}]
			decode(t, e.call("GET", target+"limit=1", reader, ""), &p)
			cursors[i] = p.NextCursor
		})
	}
	wg.Wait()
	for i, c := range cursors {
		if c == "" {
			t.Fatalf("instance %d gave no cursor", i)
		}
		for j, e := range envs {
			accepted(t, e, target, c, fmt.Sprintf("instance %d's, on instance %d,", i, j))
		}
	}
	lone := newEnv(t, envOptions{store: memory.New(nil)})
	twoOfEach(t, lone)
	refused(t, lone, target, cursors[0], "another deployment's (its own store)")
}
