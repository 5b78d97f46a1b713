package domain

import (
	"strconv"
	"strings"
	"time"
)

// diffHistory records every changed field of the cluster and its nodes that a message, command or
// sweep can change (docs/messages.md: nothing changes unrecorded). lastConnected and lastSync are
// not state changes and are never recorded; nor is the sweeps' bookkeeping (notices, scheduled checks). A node added is one entry
// (What "node <name>", After "added"), so a 16-node registration stays far within one
// transaction's 100 rows.
func diffHistory(prev, next *Cluster) []HistoryEntry {
	var out []HistoryEntry
	add := func(what, before, after string) {
		if before != after {
			out = append(out, HistoryEntry{What: what, Before: before, After: after})
		}
	}
	var p Cluster
	if prev != nil {
		p = *prev
	}
	add("registrationStatus", p.RegistrationStatus, next.RegistrationStatus)
	add("clusterStatus", p.ClusterStatus, next.ClusterStatus)
	add("connectionStatus", p.ConnectionStatus, next.ConnectionStatus)
	add("arcIntegration", p.ArcIntegration, next.ArcIntegration)
	add("orphan", p.Orphan, next.Orphan)
	add("clusterName", p.Name, next.Name)
	add("cloud", p.Cloud, next.Cloud)
	add("tenantId", p.TenantID, next.TenantID)
	add("subscriptionId", p.SubscriptionID, next.SubscriptionID)
	add("resourceGroup", p.ResourceGroup, next.ResourceGroup)
	add("resourceName", p.ResourceName, next.ResourceName)
	add("arcResourceGroup", p.ArcResourceGroup, next.ArcResourceGroup)
	add("resourceId", p.ResourceID, next.ResourceID)
	add("region", p.Region, next.Region)
	add("ownsResourceGroup", strconv.FormatBool(p.OwnsResourceGroup), strconv.FormatBool(next.OwnsResourceGroup))
	add("appIdentities", strings.Join(p.AppIdentities, ","), strings.Join(next.AppIdentities, ","))
	add("osVersion", p.OSVersion, next.OSVersion)
	add("arcSpnAppId", p.ArcSPNAppID, next.ArcSPNAppID)
	add("credentialExpiresAt", timeStr(p.CredentialExpiresAt), timeStr(next.CredentialExpiresAt))
	add("credentialExpired", strconv.FormatBool(p.CredentialExpired), strconv.FormatBool(next.CredentialExpired))
	add("installedAt", timeStr(p.InstalledAt), timeStr(next.InstalledAt))
	old := map[string]Node{}
	for _, n := range p.Nodes {
		old[n.Name] = n
	}
	for _, n := range next.Nodes {
		o, ok := old[n.Name]
		if !ok {
			add("node "+n.Name, "", "added") // its first statuses are in the state (one entry, not one per field)
			continue
		}
		pre := "node " + n.Name + " "
		add(pre+"registrationStatus", o.RegistrationStatus, n.RegistrationStatus)
		add(pre+"connectionStatus", o.ConnectionStatus, n.ConnectionStatus)
		add(pre+"arcStatus", o.ArcStatus, n.ArcStatus)
		add(pre+"osVersion", o.OSVersion, n.OSVersion)
		add(pre+"arcAgentVersion", o.ArcAgentVersion, n.ArcAgentVersion)
		add(pre+"biosConfigHash", o.BiosConfigHash, n.BiosConfigHash)
		add(pre+"installedAt", timeStr(o.InstalledAt), timeStr(n.InstalledAt))
		add(pre+"claimedBy", o.ClaimedBy, n.ClaimedBy)
		add(pre+"reset", resetStr(o.Reset), resetStr(n.Reset))
	}
	return out
}

func timeStr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func resetStr(r *ResetOperation) string {
	if r == nil {
		return ""
	}
	s := r.OperationID + " " + r.Status
	for _, st := range r.Stages {
		s += " " + st.Name + "=" + st.Status
	}
	return s
}
