package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/store/storetest"
)

// check runs CheckPolicies with a fresh run ID.
func (h *harness) check(limit int) domain.SweepReport {
	h.t.Helper()
	h.run++
	rep, err := h.svc.CheckPolicies(context.Background(), domain.SweepRun{ID: fmt.Sprintf("run-%d", h.run), Limit: limit})
	if err != nil {
		h.t.Fatalf("CheckPolicies: %v", err)
	}
	return rep
}

// drained is one emitted event, summarised.
type drained struct {
	Type, Cluster string
	Body          map[string]any
}

func (d drained) String() string {
	s := d.Type
	if p, ok := d.Body["policy"]; ok {
		s += "/" + p.(string)
	}
	if n, ok := d.Body["daysLeft"]; ok {
		s += fmt.Sprintf("/%v", n)
	}
	return s
}

// drain returns the events committed since the last drain (all clusters, or those of ids).
func (h *harness) drain(ids ...string) []drained {
	h.t.Helper()
	ctx := context.Background()
	evs, err := h.st.Pending(ctx, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.st.MarkPublished(ctx, evs); err != nil {
		h.t.Fatal(err)
	}
	var out []drained
	for _, e := range evs {
		if len(ids) > 0 && !slices.Contains(ids, e.ClusterID) {
			continue
		}
		d := drained{Type: e.Type, Cluster: e.ClusterID}
		if err := json.Unmarshal(e.Body, &d.Body); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func names(ds []drained) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.String())
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

func TestSweepRegistrationJourney(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.step(t, "installed", func(t *testing.T) {
			h.installed(cA, "n1")
			h.drain()
			up, err := h.svc.Upcoming(context.Background(), 31*swDay)
			noErr(t, "Upcoming(31d)", err)
			wantFields(t, "Upcoming(31d)", fields{"policies": []string{domain.PolicyRegistration, domain.PolicyCluster}, "first": t0.Add(30 * swDay)},
				fields{"policies": deadlinePolicies(up), "first": firstDeadline(up)})
			if v := h.view(cA); len(v.Deadlines) != 2 || !v.Deadlines[0].Deadline.Equal(up[0].Deadline) {
				t.Fatalf("view deadlines %+v", v.Deadlines)
			}
			if up, _ := h.svc.Upcoming(context.Background(), 7*swDay); len(up) != 0 {
				t.Fatalf("Upcoming(7d) = %+v", up)
			}
		})
		h.step(t, "warnings then violations", func(t *testing.T) {
			for _, day := range []struct {
				day  float64
				want string
			}{
				{22.9, ""},
				{23, "PolicyWarning/Cluster/7 PolicyWarning/Registration/7"},
				{23.5, ""},
				{29, "PolicyWarning/Cluster/1 PolicyWarning/Registration/1"},
				{29, ""},
				{30, "PolicyViolated/Cluster PolicyViolated/Registration"},
				{31, ""},
			} {
				h.at(day.day)
				h.check(0)
				if got := names(h.drain()); got != day.want {
					t.Fatalf("day %v: events %q, want %q", day.day, got, day.want)
				}
			}
			if v := h.view(cA); v.RegistrationStatus != domain.StatusOutOfPolicy || v.ClusterStatus != domain.StatusOutOfPolicy {
				t.Fatalf("day 31: %s/%s", v.RegistrationStatus, v.ClusterStatus)
			}
		})
		h.step(t, "late register restores", func(t *testing.T) {
			h.register(cA, "n") // late registration of the installed machine's cluster
			if got := names(h.drain(cA)); !strings.Contains(got, "PolicyRestored/Cluster PolicyRestored/Registration") {
				t.Fatalf("late register events %q", got)
			}
			if v := h.view(cA); v.RegistrationStatus != domain.StatusRegistered || v.ClusterStatus != domain.StatusClustered {
				t.Fatalf("after register: %s/%s", v.RegistrationStatus, v.ClusterStatus)
			}
		})
	})
}

func TestSweepOfflineJourney(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a")
		h.register(cB, "b")
		h.drain()
		got := map[int]string{}
		for d := 1; d <= 31; d++ {
			h.at(float64(d))
			h.sync(cB, "b") // another cluster keeps syncing: the guard is not active
			if rep := h.check(0); rep.GuardActive {
				t.Fatalf("day %d: guard active", d)
			}
			if e := names(h.drain(cA)); e != "" {
				got[d] = e
			}
			if d == 1 && h.view(cA).ConnectionStatus != domain.StatusDisconnect {
				t.Fatalf("day 1: %s, want Disconnected", h.view(cA).ConnectionStatus)
			}
		}
		want := map[int]string{23: "PolicyWarning/Connection/7", 29: "PolicyWarning/Connection/1", 30: "PolicyViolated/Connection"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events by day %v, want %v", got, want)
		}
		if v := h.view(cA); v.ConnectionStatus != domain.StatusOutOfPolicy || h.view(cB).ConnectionStatus != domain.StatusConnected {
			t.Fatalf("day 31: a %s b %s", v.ConnectionStatus, h.view(cB).ConnectionStatus)
		}
		h.sync(cA, "a")
		if e := names(h.drain(cA)); e != "PolicyRestored/Connection" {
			t.Fatalf("sync after OutOfPolicy: %q", e)
		}
		h.check(0)
		if e := names(h.drain(cA)); e != "" || h.view(cA).ConnectionStatus != domain.StatusConnected {
			t.Fatalf("run after restore: %q %s", e, h.view(cA).ConnectionStatus)
		}
	})
}

func TestSweepCredentialLadder(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a", "arcSpn", map[string]any{"appId": ten, "credentialExpiresAt": t0.Add(40 * swDay).Format(time.RFC3339)})
		h.drain()
		var got []string
		var last drained
		for d := 1; d <= 42; d++ {
			h.at(float64(d))
			h.sync(cA, "a")
			h.check(0)
			for _, e := range h.drain(cA) {
				got = append(got, fmt.Sprintf("%d:%s", d, e))
				last = e
			}
		}
		if want := "10:PolicyWarning/Credential/30 33:PolicyWarning/Credential/7 39:PolicyWarning/Credential/1 40:PolicyWarning/Credential/0"; strings.Join(got, " ") != want {
			t.Fatalf("ladder %v, want %s", got, want)
		}
		if a, _ := last.Body["action"].(string); !strings.Contains(a, "RepairRegistration") || !h.view(cA).CredentialExpired {
			t.Fatalf("expiry: action %q expired %v", a, h.view(cA).CredentialExpired)
		}
	})
}

// silentOrphan registers a and b at t0 and advances to day 90 with only b syncing, then runs.
func silentOrphan(t *testing.T, h *harness) {
	h.register(cA, "a")
	h.register(cB, "b")
	h.drain()
	h.at(90)
	h.sync(cB, "b")
	h.check(0)
	evs := h.drain(cA)
	if got := names(evs); got != "OrphanSuspected PolicyViolated/Connection" {
		t.Fatalf("day 90: %q", got)
	}
	for _, e := range evs {
		if e.Type == domain.EvOrphanSuspected && (e.Body["reason"] != domain.OrphanSilent || e.Body["graceUntil"] != t0.Add(97*swDay).Format(time.RFC3339)) {
			t.Fatalf("OrphanSuspected %v", e.Body)
		}
	}
	os, err := h.svc.Orphans(context.Background(), domain.Everywhere())
	noErr(t, "Orphans", err)
	wantFields(t, "Orphans", fields{"suspects": []string{cA}}, fields{"suspects": orphanIDs(os)})
	wantFields(t, "the suspect's plan", fields{"steps": 5, "reason": domain.ReasonOrphanCleanup},
		fields{"steps": len(os[0].Plan.Steps), "reason": os[0].Plan.Reason})
	if plans, evs, err := h.svc.CleanupOrphans(context.Background(), false, domain.Meta{}); err != nil || len(plans) != 0 || len(evs) != 0 {
		t.Fatalf("CleanupOrphans during grace = %v, %d events, %v", plans, len(evs), err)
	}
}

func TestSweepOrphanClearedBySyncDuringGrace(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		silentOrphan(t, h)
		h.at(92)
		h.sync(cA, "a")
		if got := names(h.drain(cA)); !strings.Contains(got, "OrphanCleared") {
			t.Fatalf("sync during grace: %q", got)
		}
		h.at(98)
		h.sync(cA, "a")
		h.sync(cB, "b")
		h.check(0)
		if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "orphans-1"}); err != nil {
			t.Fatal(err)
		}
		if got := names(h.drain(cA)); got != "" || h.view(cA).Orphan != domain.OrphanNone {
			t.Fatalf("after grace: %q orphan %s", got, h.view(cA).Orphan)
		}
	})
}

func TestSweepOrphanCleanedUpAfterGrace(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		silentOrphan(t, h)
		h.at(96.9)
		h.sync(cB, "b")
		if rep, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "early"}); err != nil || names(h.drain(cA)) != "" {
			t.Fatalf("before grace end: %+v %v", rep, err)
		}
		h.at(97)
		h.sync(cB, "b")
		if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "orphan-run-7"}); err != nil {
			t.Fatal(err)
		}
		evs := h.drain(cA)
		var seq []string
		for _, e := range evs {
			s := e.Type
			if e.Type == domain.EvCleanupRequested {
				s += fmt.Sprintf("#%v", e.Body["step"])
			}
			if r, ok := e.Body["reason"]; ok && e.Type != domain.EvCleanupRequested && r != domain.ReasonOrphanCleanup {
				t.Fatalf("%s reason %v", e.Type, r)
			}
			seq = append(seq, s)
		}
		want := "ClusterUnregistered CleanupRequested#1 CleanupRequested#2 CleanupRequested#3 CleanupRequested#4 CleanupRequested#5 OrphanCleanedUp"
		if strings.Join(seq, " ") != want {
			t.Fatalf("clean-up events %v", seq)
		}
		if c := evs[len(evs)-1].Body["cause"]; c != "orphan-run-7" {
			t.Fatalf("OrphanCleanedUp cause %v", c)
		}
		v := h.view(cA)
		if v.Orphan != domain.OrphanCleanedUp || v.RegistrationStatus != domain.StatusNotYet {
			t.Fatalf("tombstone: %s %s", v.Orphan, v.RegistrationStatus)
		}
		h.at(98)
		h.sync(cB, "b")
		h.check(0)
		if got := names(h.drain(cA)); got != "" {
			t.Fatalf("tombstone evaluated again: %q", got)
		}
	})
}

func TestSweepGuardFlagsNobodyWithoutSyncs(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a")
		h.register(cB, "b")
		h.drain()
		h.at(100) // nobody synced for 100 days: Registrar's own outage
		rep := h.check(0)
		if !rep.GuardActive || names(h.drain()) != "" {
			t.Fatalf("guard run: %+v", rep)
		}
		for _, id := range []string{cA, cB} {
			if v := h.view(id); v.ConnectionStatus != domain.StatusConnected || v.Orphan != domain.OrphanNone {
				t.Fatalf("%s flagged under the guard: %s %s", id, v.ConnectionStatus, v.Orphan)
			}
		}
		h.sync(cB, "b") // syncs flow again: only the silent cluster is flagged
		h.at(100.5)
		h.sync(cB, "b")
		if rep := h.check(0); rep.GuardActive {
			t.Fatal("guard still active")
		}
		if got := names(h.drain()); got != "OrphanSuspected PolicyViolated/Connection" {
			t.Fatalf("after the guard: %q", got)
		}
		if h.view(cB).ConnectionStatus != domain.StatusConnected {
			t.Fatal("the syncing cluster was flagged")
		}
	})
}

// The fleet guard /summary shows: nothing held right after the first Register (no sync is due yet),
// active once a silence check is parked with no sync ever heard, released by a sync.
func TestFleetGuardBeforeTheFirstSync(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		guard := func() domain.FleetGuard {
			t.Helper()
			g, err := h.svc.FleetGuard(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		h.register(cA, "a")
		h.check(0)
		if g := guard(); g != (domain.FleetGuard{}) {
			t.Fatalf("right after the first Register: %+v, want nothing held", g)
		}
		h.at(2)
		if rep := h.check(0); !rep.GuardActive {
			t.Fatalf("a silence check due with no sync heard: %+v", rep)
		}
		if g := guard(); g != (domain.FleetGuard{Active: true}) {
			t.Fatalf("a cluster held: %+v, want active", g)
		}
		h.sync(cA, "a")
		if g := guard(); g != (domain.FleetGuard{NewestSync: h.clk.Now()}) {
			t.Fatalf("after a sync: %+v", g)
		}
	})
}

func TestSweepInterruptedRunContinuesWithoutDuplicates(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ids := []string{cA, cB, "cccccccc-0000-4000-8000-000000000003"}
		for _, id := range ids {
			h.installed(id, "n1")
		}
		h.drain()
		h.at(23)
		rep := h.check(1)
		wantFields(t, "first run", fields{"examined": 1, "more": true, "events": 2},
			fields{"examined": rep.Examined, "more": rep.More, "events": rep.Events})
		rep = h.check(1)
		if rep.Examined != 1 || !rep.More {
			t.Fatalf("second run: %+v", rep)
		}
		rep = h.check(10)
		if rep.Examined != 1 || rep.More {
			t.Fatalf("third run: %+v", rep)
		}
		evs := h.drain()
		seen := map[string]bool{}
		for _, e := range evs {
			k := e.Cluster + e.String()
			if seen[k] {
				t.Fatalf("duplicate %s", k)
			}
			seen[k] = true
		}
		if len(evs) != 6 {
			t.Fatalf("%d warnings, want 6: %v", len(evs), evs)
		}
		for range 2 {
			if rep := h.check(0); rep.Events != 0 || rep.Changed != 0 {
				t.Fatalf("run back to back: %+v", rep)
			}
		}
		if got := names(h.drain()); got != "" {
			t.Fatalf("back-to-back runs emitted %q", got)
		}
	})
}

// hookStore runs onLoad after each Load has read and can fail Unschedule.
type hookStore struct {
	domain.Store
	onLoad          func(id string)
	failUnschedules int
}

func (s *hookStore) Load(ctx context.Context, id, msg string) (domain.ClusterRecord, error) {
	rec, err := s.Store.Load(ctx, id, msg)
	if s.onLoad != nil {
		s.onLoad(id)
	}
	return rec, err
}

func (s *hookStore) Unschedule(ctx context.Context, d domain.Due) error {
	if s.failUnschedules > 0 {
		s.failUnschedules--
		return domain.ErrTransient
	}
	return s.Store.Unschedule(ctx, d)
}

func TestSweepCrashAfterCommitRepeatsNothing(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			hs := &hookStore{Store: mk(t)}
			h := harnessOn(t, hs)
			h.installed(cA, "n1")
			h.drain()
			h.at(23)
			hs.failUnschedules = 1 // the run dies after committing, before removing the due row
			if _, err := h.svc.CheckPolicies(context.Background(), domain.SweepRun{ID: "crashing"}); err == nil {
				t.Fatal("a failed Unschedule was swallowed")
			}
			if got := names(h.drain()); got != "PolicyWarning/Cluster/7 PolicyWarning/Registration/7" {
				t.Fatalf("crashing run committed %q", got)
			}
			for _, id := range []string{"crashing", "next"} { // the platform's retry, then the next run
				rep, err := h.svc.CheckPolicies(context.Background(), domain.SweepRun{ID: id})
				if err != nil || rep.Events != 0 {
					t.Fatalf("%s: %+v %v", id, rep, err)
				}
			}
			if got := names(h.drain()); got != "" {
				t.Fatalf("repeated evaluation emitted %q", got)
			}
		})
	}
}

func TestSweepConcurrentSyncWinsOverDisconnect(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			hs := &hookStore{Store: mk(t)}
			h := harnessOn(t, hs)
			h.register(cA, "a")
			h.register(cB, "b")
			h.at(1)
			h.sync(cB, "b")
			h.drain()
			raced := false
			hs.onLoad = func(id string) {
				if id == cA && !raced {
					raced = true
					h.sync(cA, "a") // lands between the sweep's read and its conditional write
				}
			}
			h.check(0)
			if !raced {
				t.Fatal("the race did not happen")
			}
			if v := h.view(cA); v.ConnectionStatus != domain.StatusConnected || v.LastConnected == nil || !v.LastConnected.Equal(h.clk.Now()) {
				t.Fatalf("after the race: %s %v", v.ConnectionStatus, v.LastConnected)
			}
			hist, err := h.svc.History(context.Background(), cA, domain.Page{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range hist.Items {
				if e.What == "connectionStatus" && e.After == domain.StatusDisconnect {
					t.Fatalf("a stale read flipped the cluster: %+v", e)
				}
			}
		})
	}
}

func TestSweepOrphanMachinesClaimed(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a", "arcResourceGroup", "arc")
		h.register(cB, "b", "arcResourceGroup", "arc")
		h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "clusterId": cB, "machine": "a-n1",
			"installedAt": t0.Format(time.RFC3339)}) // a's only machine re-imaged into b
		h.drain()
		h.at(0.5)
		h.check(0)
		if evs := h.drain(cA); len(evs) != 0 || h.view(cA).Orphan != domain.OrphanNone {
			t.Fatalf("suspected while heard from within ConnectedWindow: %v", evs)
		}
		h.at(1.01)
		if rep := h.check(0); !rep.GuardActive { // no sync heard: the claim is judged regardless
			t.Fatalf("guard: %+v", rep)
		}
		evs := h.drain(cA)
		if len(evs) != 1 || evs[0].Type != domain.EvOrphanSuspected || evs[0].Body["reason"] != domain.OrphanMachinesClaimed {
			t.Fatalf("claimed: %v", evs)
		}
		h.at(8.02)
		if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "o"}); err != nil {
			t.Fatal(err)
		}
		var seq []string
		for _, e := range h.drain(cA) {
			s := e.Type
			if n, ok := e.Body["step"]; ok {
				s += fmt.Sprint(n)
			}
			seq = append(seq, s)
		}
		// b still uses the Arc resource group: step 2 is left out, the others keep their numbers.
		if got := strings.Join(seq, " "); got != "ClusterUnregistered CleanupRequested1 CleanupRequested3 CleanupRequested4 CleanupRequested5 OrphanCleanedUp" {
			t.Fatalf("clean-up %s", got)
		}
		if h.view(cB).RegistrationStatus != domain.StatusRegistered {
			t.Fatal("the claiming cluster was touched")
		}
	})
}

func TestSweepResetStalledOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a", "osVersion", "2508")
		h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "a-n1"})
		h.drain()
		var got []string
		for _, d := range []float64{0.9, 1, 1.5, 3} {
			h.at(d)
			h.check(0)
			for _, e := range h.drain(cA) {
				if e.Type == domain.EvMachineResetStalled {
					got = append(got, fmt.Sprintf("%v:%v", d, e.Body["machine"]))
				}
			}
		}
		if strings.Join(got, " ") != "1:a-n1" {
			t.Fatalf("stalls %v, want one at day 1", got)
		}
	})
}

func TestCleanupOrphansAdmin(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		silentOrphan(t, h)
		h.at(97)
		h.sync(cB, "b")
		ctx := context.Background()
		plans, committed, err := h.svc.CleanupOrphans(ctx, true, domain.Meta{})
		noErr(t, "dry run", err)
		wantFields(t, "dry run", fields{"committed": 0, "plans": []string{cA}, "orphan": domain.OrphanSuspected},
			fields{"committed": len(committed), "plans": planIDs(plans), "orphan": h.view(cA).Orphan})
		wantFields(t, "dry run's plan", fields{"steps": 5}, fields{"steps": len(plans[0].Steps)})
		if got := names(h.drain()); got != "" {
			t.Fatalf("dry run emitted %q", got)
		}
		plans, committed, err = h.svc.CleanupOrphans(ctx, false, domain.Meta{Cause: "POST /api/v1/orphans/cleanup", Principal: "ops"})
		noErr(t, "clean-up", err)
		wantFields(t, "clean-up", fields{"plans": []string{cA}, "orphan": domain.OrphanCleanedUp},
			fields{"plans": planIDs(plans), "orphan": h.view(cA).Orphan})
		evs := h.drain(cA)
		if len(committed) != len(evs) || committed[len(committed)-1].Type != domain.EvOrphanCleanedUp {
			t.Fatalf("clean-up returned %d committed events, want the %d it committed", len(committed), len(evs))
		}
		if last := evs[len(evs)-1]; last.Type != domain.EvOrphanCleanedUp || last.Body["cause"] != "POST /api/v1/orphans/cleanup" || len(evs) != 7 {
			t.Fatalf("clean-up events %v", evs)
		}
		if plans, evs, err := h.svc.CleanupOrphans(ctx, false, domain.Meta{}); err != nil || len(plans) != 0 || len(evs) != 0 {
			t.Fatalf("second clean-up: %+v %d events %v", plans, len(evs), err)
		}
	})
}

// claimedOrphan makes cA a MachinesClaimed suspect: its only machine re-imaged into cB.
func claimedOrphan(t *testing.T, h *harness) {
	t.Helper()
	h.register(cA, "a", "arcResourceGroup", "arc")
	h.register(cB, "b", "arcResourceGroup", "arc")
	h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "clusterId": cB, "machine": "a-n1",
		"installedAt": t0.Format(time.RFC3339)})
	h.drain()
	h.at(1.01) // silent for ConnectedWindow
	h.check(0)
	if evs := h.drain(cA); len(evs) != 1 || evs[0].Type != domain.EvOrphanSuspected {
		t.Fatalf("claimed: %v", evs)
	}
}

// A suspect unregistered on purpose is no longer a suspect: not listed, never cleaned up as an
// orphan when its grace would have ended.
func TestSweepUnregisteredSuspectIsNotCleanedUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		claimedOrphan(t, h)
		h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "Unregister", "clusterId": cA})
		h.drain()
		if v := h.view(cA); v.Orphan != domain.OrphanNone {
			t.Fatalf("after unregister: orphan %s", v.Orphan)
		}
		if o, err := h.svc.Orphans(context.Background(), domain.Everywhere()); err != nil || len(o) != 0 {
			t.Fatalf("Orphans = %+v, %v", o, err)
		}
		h.at(9)
		h.check(0)
		if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "o"}); err != nil {
			t.Fatal(err)
		}
		if got := names(h.drain(cA)); got != "" || h.view(cA).Orphan != domain.OrphanNone {
			t.Fatalf("after the grace: %q, orphan %s", got, h.view(cA).Orphan)
		}
	})
}

// A sync from a suspect's machine clears the suspicion and the stale claim with it: the next
// sweeps do not suspect it again.
func TestSweepSyncClearsAClaimForGood(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		claimedOrphan(t, h)
		h.at(1.5)
		h.sync(cA, "a")
		if got := names(h.drain(cA)); !strings.Contains(got, "OrphanCleared") {
			t.Fatalf("sync: %q", got)
		}
		for day := 2.0; day <= 4; day++ {
			h.at(day)
			h.sync(cA, "a")
			h.sync(cB, "b")
			h.check(0)
		}
		if got := names(h.drain(cA)); strings.Contains(got, "OrphanSuspected") {
			t.Fatalf("suspected again: %q", got)
		}
	})
}

// A sync enqueued longer ago than the connected window (a drained backlog) changes no status:
// no false PolicyRestored, no flapping.
func TestStaleSyncRestoresNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a")
		h.register(cB, "b")
		for day := 1.0; day <= 31; day++ {
			h.at(day)
			h.sync(cB, "b")
			h.check(0)
		}
		if v := h.view(cA); v.ConnectionStatus != domain.StatusOutOfPolicy {
			t.Fatalf("offline 31 days: %s", v.ConnectionStatus)
		}
		h.drain()
		h.seq++
		raw, _ := json.Marshal(map[string]any{"type": "Sync", "clusterId": cA, "machine": "a-n1"})
		if _, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, raw,
			domain.Meta{MessageID: "late", EnqueuedAt: t0.Add(5 * swDay)}); err != nil {
			t.Fatal(err)
		}
		if got := names(h.drain(cA)); got != "" || h.view(cA).ConnectionStatus != domain.StatusOutOfPolicy {
			t.Fatalf("a stale sync: %q, %s", got, h.view(cA).ConnectionStatus)
		}
	})
}

// A sync that brings a Disconnected cluster back moves its next check forward: silent again, it
// is Disconnected one day after that sync, not at the later check planned while it was away.
func TestSweepReconnectedThenSilentAgain(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a")
		h.register(cB, "b")
		status := map[int]string{}
		for hr := 1; hr <= 24*4; hr++ {
			h.at(float64(hr) / 24)
			h.sync(cB, "b") // the fleet keeps syncing: the mass-disconnect guard stays off
			if hr == 36 {
				h.sync(cA, "a")
			}
			h.check(0)
			status[hr] = h.view(cA).ConnectionStatus
		}
		for hr, want := range map[int]string{30: domain.StatusDisconnect, 37: domain.StatusConnected,
			59: domain.StatusConnected, 61: domain.StatusDisconnect} {
			if status[hr] != want {
				t.Errorf("hour %d: %s, want %s (the sync was at hour 36)", hr, status[hr], want)
			}
		}
	})
}

// A machine in no cluster yet: a redelivered MachineInstalled is a duplicate, and an older message
// arriving late (another MessageId) keeps the newer OS version.
func TestStandaloneInstallIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		install := func(id, os string, enqueued time.Time) domain.Outcome {
			t.Helper()
			body := `{"type":"MachineInstalled","machine":"Lone1","installedAt":"2026-01-01T00:00:00Z"`
			if os != "" {
				body += `,"osVersion":"` + os + `"`
			}
			body += "}"
			res, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, []byte(body),
				domain.Meta{MessageID: id, EnqueuedAt: enqueued, Queue: "machine-events"})
			if err != nil {
				t.Fatal(err)
			}
			return res.Outcome
		}
		early, late := h.clk.Now(), h.clk.Now().Add(time.Hour)
		got := []domain.Outcome{install("a", "2508", early), install("a", "2508", early), install("b", "2601", late),
			install("a", "2508", early), install("c", "2508", early), install("d", "", late.Add(time.Hour))}
		want := []domain.Outcome{domain.Created, domain.Duplicate, domain.Updated, domain.Duplicate, domain.Unchanged, domain.Unchanged}
		if !slices.Equal(got, want) {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
		e, err := h.st.GetIndex(context.Background(), "standalone", "", "lone1")
		if err != nil || !strings.Contains(e.Value, `"osVersion":"2601"`) {
			t.Fatalf("standalone record %q (%v), want the later message's osVersion 2601", e.Value, err)
		}
	})
}

// pruneRecorder records PruneMarkers calls (the store's own contract suite tests their effect;
// marker ages are the store's commit times, not the test clock's).
type pruneRecorder struct {
	domain.Store
	calls []string
}

func (p *pruneRecorder) PruneMarkers(ctx context.Context, partition string, before time.Time) error {
	p.calls = append(p.calls, partition+" "+before.UTC().Format(time.RFC3339))
	return p.Store.PruneMarkers(ctx, partition, before)
}

// The OrphanSweep prunes the markers of the partitions no cluster's due row visits.
func TestSweepOrphansPrunesMarkersOfNoCluster(t *testing.T) {
	rec := &pruneRecorder{Store: memory.New(nil)}
	h := harnessOn(t, rec)
	h.at(30)
	if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "prune"}); err != nil {
		t.Fatal(err)
	}
	cutoff := h.clk.Now().Add(-domain.MarkerRetention).UTC().Format(time.RFC3339)
	want := []string{domain.UnknownSession + " " + cutoff, domain.StandalonePartition + " " + cutoff}
	if !slices.Equal(rec.calls, want) {
		t.Fatalf("PruneMarkers calls %v, want %v", rec.calls, want)
	}
}

// A machine tracked on its own is adopted by the MachineInstalled that names its cluster: the
// earlier standalone install time starts the cluster's windows and the standalone row goes.
func TestInstalledInAClusterAdoptsTheStandaloneRecord(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "machine": "n1", "installedAt": "2026-01-01T00:00:00Z"})
		h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "clusterId": cA, "machine": "N1", "installedAt": "2026-01-05T00:00:00Z"})
		rec, err := h.st.Load(context.Background(), cA, "")
		if err != nil || !rec.Cluster.InstalledAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("cluster installedAt %v (%v), want the standalone 2026-01-01", rec.Cluster.InstalledAt, err)
		}
		if _, err := h.st.GetIndex(context.Background(), "standalone", "", "n1"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("standalone row still there: %v", err)
		}
	})
}

// Re-running Register for a registered cluster later changes nothing already true: not its
// connection (a Disconnected cluster stays so, with no PolicyRestored; syncs judge it) nor its
// lastConnected. Registering it again after an Unregister connects it.
func TestRegisterRerunLeavesTheConnectionToSyncs(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a")
		h.register(cB, "b")
		h.drain()
		h.at(2)
		h.sync(cB, "b")
		h.check(0)
		if v := h.view(cA); v.ConnectionStatus != domain.StatusDisconnect {
			t.Fatalf("day 2: %s, want Disconnected", v.ConnectionStatus)
		}
		before := h.view(cA)
		h.drain()
		h.register(cA, "a")
		after := h.view(cA)
		if after.ConnectionStatus != domain.StatusDisconnect || after.LastConnected == nil || !after.LastConnected.Equal(*before.LastConnected) {
			t.Errorf("re-run: %s last %v, want Disconnected last %v", after.ConnectionStatus, after.LastConnected, before.LastConnected)
		}
		if got := names(h.drain(cA)); got != "" {
			t.Errorf("re-run events %q, want none", got)
		}
		h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "Unregister", "clusterId": cA})
		h.at(3)
		h.register(cA, "a")
		if v := h.view(cA); v.ConnectionStatus != domain.StatusConnected || v.LastConnected == nil || !v.LastConnected.Equal(h.clk.Now()) {
			t.Errorf("registered again: %s last %v, want Connected now", v.ConnectionStatus, v.LastConnected)
		}
	})
}

// failOnce, once armed, fails the next Commit to one partition with a transient error.
type failOnce struct {
	domain.Store
	partition string
	armed     bool
}

func (f *failOnce) Commit(ctx context.Context, ch domain.Change) (string, error) {
	if ch.Partition == f.partition && f.armed {
		f.armed = false
		return "", fmt.Errorf("injected: %w", domain.ErrTransient)
	}
	return f.Store.Commit(ctx, ch)
}

// A claim on another cluster that fails is not lost: the message fails (transient), and its
// redelivery makes the claim.
func TestFailedClaimIsRetriedWithTheMessage(t *testing.T) {
	st := &failOnce{Store: memory.New(nil), partition: cA}
	h := harnessOn(t, st)
	h.register(cA, "a", "arcResourceGroup", "arc")
	h.register(cB, "b", "arcResourceGroup", "arc")
	st.armed = true
	body := []byte(`{"type":"MachineInstalled","clusterId":"` + cB + `","machine":"a-n1","installedAt":"` + t0.Format(time.RFC3339) + `"}`)
	meta := domain.Meta{MessageID: "install-1", EnqueuedAt: h.clk.Now()}
	if _, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, body, meta); !errors.Is(err, domain.ErrTransient) {
		t.Fatalf("first delivery: %v, want the transient failure of the claim", err)
	}
	res, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, body, meta)
	if err != nil || res.Outcome != domain.Updated {
		t.Fatalf("redelivery: %+v %v, want updated", res, err)
	}
	rec, err := st.Load(context.Background(), cA, "")
	if err != nil || rec.Cluster.Nodes[0].ClaimedBy != cB {
		t.Fatalf("a-n1 of cA claimed by %q (%v), want %s", rec.Cluster.Nodes[0].ClaimedBy, err, cB)
	}
}

// A sync sent during the grace period clears the suspicion even when it is processed days
// later (a backlog): the cluster is not cleaned up at the grace's end.
func TestSweepBackloggedSyncDuringGraceClears(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		silentOrphan(t, h)
		h.at(95)
		h.sync(cB, "b")
		res, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents,
			[]byte(`{"type":"Sync","clusterId":"`+cA+`","machine":"a-n1"}`), domain.Meta{MessageID: "grace-sync", EnqueuedAt: t0.Add(91 * swDay)})
		if err != nil || res.Outcome != domain.Updated {
			t.Fatalf("backlogged sync: %+v %v", res, err)
		}
		if got := names(h.drain(cA)); got != "OrphanCleared" || h.view(cA).Orphan != domain.OrphanNone {
			t.Fatalf("backlogged sync during grace: events %q, orphan %s", got, h.view(cA).Orphan)
		}
		h.at(97.5)
		h.sync(cB, "b")
		h.check(0)
		if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: "o"}); err != nil {
			t.Fatal(err)
		}
		if v := h.view(cA); v.Orphan != domain.OrphanNone || v.RegistrationStatus != domain.StatusRegistered {
			t.Fatalf("after the grace: orphan %s, %s", v.Orphan, v.RegistrationStatus)
		}
	})
}

// A Register during the grace period clears the suspicion for good: silence counts from it,
// although a re-run leaves lastConnected to the syncs.
func TestSweepRegisterDuringGraceClearsForGood(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		silentOrphan(t, h)
		h.at(92)
		h.sync(cB, "b")
		h.register(cA, "a")
		if got := names(h.drain(cA)); got != "OrphanCleared" {
			t.Fatalf("register during grace: %q", got)
		}
		for _, day := range []float64{92.01, 93, 99, 100} {
			h.at(day)
			h.sync(cB, "b")
			h.check(0)
			if _, err := h.svc.SweepOrphans(context.Background(), domain.SweepRun{ID: fmt.Sprint("o", day)}); err != nil {
				t.Fatal(err)
			}
			if got := names(h.drain(cA)); strings.Contains(got, "Orphan") || h.view(cA).Orphan != domain.OrphanNone {
				t.Fatalf("day %v: events %q, orphan %s", day, got, h.view(cA).Orphan)
			}
		}
	})
}

// A node that stops syncing turns Disconnected a day after its last sync (after the registration
// when it never synced) while its cluster, synced by its other node, stays Connected; its next
// sync connects it again. No event: a node's status is not a policy violation.
func TestSweepSilentNodeDisconnects(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a", "nodes", []map[string]any{{"name": "a-n1"}, {"name": "a-n2"}, {"name": "a-n3"}})
		h.drain()
		node := func(name string) string {
			for _, n := range h.view(cA).Nodes {
				if n.Name == name {
					return n.ConnectionStatus
				}
			}
			return ""
		}
		for hour := 1; hour <= 72; hour++ {
			h.at(float64(hour) / 24)
			if hour%12 == 0 {
				h.sync(cA, "a") // a-n1
				if hour <= 12 {
					h.accept(domain.QueueMachineEvents, map[string]any{"type": "Sync", "clusterId": cA, "machine": "a-n3"})
				}
			}
			h.check(0)
			want := map[string]string{"a-n1": domain.StatusConnected, "a-n2": domain.StatusConnected, "a-n3": domain.StatusConnected}
			if hour >= 24 {
				want["a-n2"] = domain.StatusDisconnect // never synced: a day after the registration
			}
			if hour >= 36 {
				want["a-n3"] = domain.StatusDisconnect // last sync at hour 12
			}
			for n, st := range want {
				if got := node(n); got != st {
					t.Fatalf("hour %d: %s is %s, want %s", hour, n, got, st)
				}
			}
			if v := h.view(cA); v.ConnectionStatus != domain.StatusConnected {
				t.Fatalf("hour %d: the cluster is %s", hour, v.ConnectionStatus)
			}
		}
		if got := names(h.drain(cA)); got != "" {
			t.Errorf("events %q, want none", got)
		}
		h.accept(domain.QueueMachineEvents, map[string]any{"type": "Sync", "clusterId": cA, "machine": "a-n2"})
		if got := node("a-n2"); got != domain.StatusConnected {
			t.Errorf("a-n2 after its sync: %s", got)
		}
	})
}

// An expired credential stays expired when a re-run Register repeats it (one expiry warning);
// a RepairRegistration without a new expiry clears it for good (no second expiry warning).
func TestCredentialExpiryWarnsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		spn := map[string]any{"appId": ten, "credentialExpiresAt": t0.Add(5 * swDay).Format(time.RFC3339)}
		h.register(cA, "a", "arcSpn", spn)
		expired := 0
		count := func() {
			for _, e := range h.drain(cA) {
				if e.Type == domain.EvPolicyWarning && e.Body["policy"] == domain.PolicyCredential && e.Body["daysLeft"] == float64(0) {
					expired++
				}
			}
		}
		for day := 1.0; day <= 6; day++ {
			h.at(day)
			h.sync(cA, "a")
			h.check(0)
			count()
		}
		h.at(7)
		h.register(cA, "a", "arcSpn", spn) // the same credential again
		h.at(7.01)
		h.sync(cA, "a")
		h.check(0)
		count()
		if v := h.view(cA); !v.CredentialExpired || expired != 1 {
			t.Fatalf("after the re-run: credentialExpired %v, %d expiry warnings; want true and 1", v.CredentialExpired, expired)
		}
		h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "RepairRegistration", "clusterId": cA})
		for day := 8.0; day <= 9; day++ {
			h.at(day)
			h.sync(cA, "a")
			h.check(0)
		}
		count()
		if v := h.view(cA); v.CredentialExpired || v.CredentialExpiresAt != nil || expired != 1 {
			t.Fatalf("after the repair: credentialExpired %v, expiresAt %v, %d expiry warnings; want false, none and 1", v.CredentialExpired, v.CredentialExpiresAt, expired)
		}
	})
}

// hookOnce runs hook before the first GetIndex or DeleteIndex of kind, once armed.
type hookOnce struct {
	domain.Store
	kind  string
	armed bool
	hook  func()
}

func (h *hookOnce) GetIndex(ctx context.Context, kind, group, name string) (domain.IndexEntry, error) {
	if h.armed && kind == h.kind {
		h.armed = false
		h.hook()
	}
	return h.Store.GetIndex(ctx, kind, group, name)
}

func (h *hookOnce) GetIndexes(ctx context.Context, kind, group string, names []string) ([]domain.IndexEntry, error) {
	if h.armed && kind == h.kind {
		h.armed = false
		h.hook()
	}
	return h.Store.GetIndexes(ctx, kind, group, names)
}

func (h *hookOnce) DeleteIndex(ctx context.Context, kind, group, name string) error {
	if h.armed && kind == h.kind {
		h.armed = false
		h.hook()
	}
	return h.Store.DeleteIndex(ctx, kind, group, name)
}

// An Unregister's clean-up of its index rows, delayed until the cluster was registered again,
// keeps the rows the new registration wrote: another cluster cannot then take its node, and the
// Arc role assignment it still uses is not planned for clean-up.
func TestUnregisterCleanupKeepsAReRegistrationsRows(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			const cC = "cccccccc-0000-4000-8000-000000000003"
			st := &hookOnce{Store: mk(t), kind: "arcgroup"}
			h := harnessOn(t, st)
			h.register(cA, "a", "arcResourceGroup", "arc")
			st.hook = func() { h.register(cA, "a", "arcResourceGroup", "arc") } // before the Unregister's clean-up reads
			st.armed = true
			h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "Unregister", "clusterId": cA})
			if v := h.view(cA); v.RegistrationStatus != domain.StatusRegistered {
				t.Fatalf("after the re-registration: %s", v.RegistrationStatus)
			}
			h.register(cB, "b", "arcResourceGroup", "arc")
			h.drain()
			h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "Unregister", "clusterId": cB})
			for _, e := range h.drain(cB) {
				if e.Type == domain.EvCleanupRequested && e.Body["step"] == float64(2) {
					t.Errorf("b's clean-up removes the Arc role assignment a still uses: %v", e.Body)
				}
			}
			res, err := h.svc.HandleMessage(context.Background(), domain.QueueRegistrationRequests, []byte(`{"type":"Register","clusterId":"`+cC+
				`","clusterName":"c","tenantId":"`+ten+`","subscriptionId":"`+sub+`","region":"eastus","arcResourceGroup":"arc","nodes":[{"name":"a-n1"}]}`),
				domain.Meta{MessageID: "c-1", EnqueuedAt: h.clk.Now()})
			if err != nil || res.Problem == nil || res.Problem.Code != domain.CodeNodeRegisteredElsewhere {
				t.Errorf("c registering a's node: %s %v %v, want NodeRegisteredElsewhere", res.Outcome, res.Problem, err)
			}
		})
	}
}

// Concurrent MachineInstalled messages of one machine in no cluster keep the earliest install
// time: the standalone record is read-modify-written with its ETag.
func TestStandaloneConcurrentInstallsKeepTheEarliest(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		for round := range 5 {
			machine := fmt.Sprint("lone-", round)
			var wg sync.WaitGroup
			for i := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fmt.Sprintf(`{"type":"MachineInstalled","machine":%q,"installedAt":%q}`, machine, t0.Add(-time.Duration(i)*swDay).Format(time.RFC3339))
					for { // redelivered while transient, as the platform does
						_, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, []byte(body),
							domain.Meta{MessageID: fmt.Sprint(machine, "-", i), EnqueuedAt: h.clk.Now()})
						if err == nil || !errors.Is(err, domain.ErrTransient) {
							if err != nil {
								t.Error(err)
							}
							return
						}
					}
				}()
			}
			wg.Wait()
			e, err := h.st.GetIndex(context.Background(), "standalone", "", machine)
			if err != nil || !strings.Contains(e.Value, t0.Add(-5*swDay).Format(time.RFC3339)) {
				t.Fatalf("round %d: record %q (%v), want the earliest install %s", round, e.Value, err, t0.Add(-5*swDay).Format(time.RFC3339))
			}
		}
	})
}

// TestUnchangedEvaluationCommitsOnce: an evaluation that changes nothing but the cluster's next
// check (a later sync moved it on) commits it with the run's marker, in one Commit through update
// (no second commit by hand), outcome unchanged; the next due row follows it.
func TestUnchangedEvaluationCommitsOnce(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			st := storetest.Count(mk(t), "Commit")
			h := harnessOn(t, st)
			ctx := context.Background()
			scheduled := func() time.Time {
				rec, err := st.Load(ctx, cA, "")
				noErr(t, "load", err)
				return rec.Cluster.ScheduledCheck
			}
			h.register(cA, "x")
			h.sync(cA, "x")
			first := scheduled()
			h.clk.Set(first.Add(-time.Hour))
			h.sync(cA, "x") // lastConnected moves on; the next check stays at first (a later one writes no row)
			h.clk.Set(first)
			st.Reset()
			rep := h.check(0)
			next := scheduled()
			due, err := st.DueBy(ctx, next.Add(time.Hour), 10)
			noErr(t, "due", err)
			var rows []string
			for _, d := range due {
				rows = append(rows, d.ClusterID+" "+d.At.UTC().Format(time.RFC3339))
			}
			got := fields{"examined": rep.Examined, "changed": rep.Changed, "commits": st.Calls(),
				"moved": next.After(first), "due": rows}
			wantFields(t, "unchanged evaluation", fields{"examined": 1, "changed": 0, "commits": int64(1),
				"moved": true, "due": []string{cA + " " + next.UTC().Format(time.RFC3339)}}, got)
		})
	}
}
