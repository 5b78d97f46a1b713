package domain

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func types(evs []EventSpec) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestAssessRegistrationWindowWarnsOnceThenViolates(t *testing.T) {
	p := DefaultPolicy()
	c := newCluster("c1")
	c.InstalledAt = t0
	c.ClusterStatus = StatusClustered
	live := Guard{Ref: t0}
	if next := p.NextCheck(c, t0); !next.Equal(t0.Add(23 * day)) {
		t.Fatalf("NextCheck = %v, want day 23", next)
	}
	if a := p.assess(c, t0.Add(22*day), live); len(a.Events) != 0 {
		t.Fatalf("day 22 events = %v", types(a.Events))
	}
	a := p.assess(c, t0.Add(23*day), live)
	if len(a.Events) != 1 || a.Events[0].Type != EvPolicyWarning || a.Events[0].Fields.(warningFields).DaysLeft != 7 {
		t.Fatalf("day 23 = %+v", a.Events)
	}
	if a := p.assess(c, t0.Add(23*day+time.Hour), live); len(a.Events) != 0 {
		t.Fatalf("repeated day 23 events = %v", types(a.Events))
	}
	if next := p.NextCheck(c, t0); !next.Equal(t0.Add(29 * day)) {
		t.Fatalf("NextCheck after first warning = %v, want day 29", next)
	}
	if a := p.assess(c, t0.Add(29*day), live); len(a.Events) != 1 || a.Events[0].Fields.(warningFields).DaysLeft != 1 {
		t.Fatalf("day 29 = %+v", a.Events)
	}
	a = p.assess(c, t0.Add(30*day), live)
	if c.RegistrationStatus != StatusOutOfPolicy || len(a.Events) != 1 || a.Events[0].Type != EvPolicyViolated {
		t.Fatalf("day 30: status %s events %v", c.RegistrationStatus, types(a.Events))
	}
	if len(c.Notices) != 0 {
		t.Fatalf("notices of a passed deadline kept: %v", c.Notices)
	}
	if next := p.NextCheck(c, t0.Add(30*day)); !next.IsZero() {
		t.Fatalf("NextCheck after violation = %v, want none", next)
	}
}

func TestAssessLateRunSendsOnlyTheMostUrgentWarning(t *testing.T) {
	p := DefaultPolicy()
	c := newCluster("c1")
	c.InstalledAt = t0
	c.ClusterStatus = StatusClustered
	a := p.assess(c, t0.Add(29*day+time.Hour), Guard{Ref: t0})
	if len(a.Events) != 1 || a.Events[0].Fields.(warningFields).DaysLeft != 1 || len(c.Notices) != 2 {
		t.Fatalf("events %+v notices %v", a.Events, c.Notices)
	}
}

func TestAssessCredentialLadder(t *testing.T) {
	p := DefaultPolicy()
	c := newCluster("c1")
	c.RegistrationStatus, c.ClusterStatus, c.ConnectionStatus = StatusRegistered, StatusClustered, StatusConnected
	c.CredentialExpiresAt = t0.Add(60 * day)
	var got []int
	for d := 0; d <= 61; d++ {
		now := t0.Add(time.Duration(d) * day)
		c.LastConnected = now // syncing every day
		for _, e := range p.assess(c, now, Guard{Ref: now}).Events {
			if e.Type != EvPolicyWarning {
				t.Fatalf("day %d: unexpected %s", d, e.Type)
			}
			got = append(got, e.Fields.(warningFields).DaysLeft)
		}
	}
	if want := []int{30, 7, 1, 0}; len(got) != len(want) || got[0] != 30 || got[1] != 7 || got[2] != 1 || got[3] != 0 {
		t.Fatalf("warnings daysLeft = %v, want %v", got, want)
	}
	if !c.CredentialExpired {
		t.Fatal("credentialExpired not set")
	}
}

func TestAssessGuardHoldsBackSilenceOnly(t *testing.T) {
	p := DefaultPolicy()
	c := newCluster("c1")
	c.RegistrationStatus, c.ClusterStatus, c.ConnectionStatus = StatusRegistered, StatusClustered, StatusConnected
	c.RegisteredAt, c.LastConnected = t0, t0
	c.CredentialExpiresAt = t0.Add(100 * day)
	now := t0.Add(100 * day)
	g := p.Guard(t0, now)
	if !g.Active {
		t.Fatal("guard not active after 100 silent days fleet-wide")
	}
	a := p.assess(c, now, g)
	if c.ConnectionStatus != StatusConnected || c.Orphan != OrphanNone || !c.CredentialExpired || len(a.Events) != 1 {
		t.Fatalf("status %s orphan %s expired %v events %v", c.ConnectionStatus, c.Orphan, c.CredentialExpired, types(a.Events))
	}
	if g := p.Guard(now.Add(-time.Hour), now); g.Active || !g.Ref.Equal(now.Add(-time.Hour)) {
		t.Fatalf("guard with a fresh sync = %+v", g)
	}
	a = p.assess(c, now, p.Guard(now.Add(-time.Hour), now))
	if c.ConnectionStatus != StatusOutOfPolicy || c.Orphan != OrphanSuspected || c.OrphanReason != OrphanSilent {
		t.Fatalf("guard lifted: status %s orphan %s/%s events %v", c.ConnectionStatus, c.Orphan, c.OrphanReason, types(a.Events))
	}
}
