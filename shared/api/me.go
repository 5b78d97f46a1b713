package api

import "strings"

// Me is what GET /me answers (docs/admin-api.md#who-am-i): the caller, the roles its token
// claims, and where it holds each permission any of them grants. Permissions no role grants it
// are left out; nothing of any other principal is shown.
type Me struct {
	Principal   string           `json:"principal"`
	Roles       []string         `json:"roles"`
	Permissions map[string]Grant `json:"permissions"`
}

// Grant is where a caller holds one permission: on every cluster (All, Subscriptions empty), or
// only on the clusters registered in Subscriptions (lower-case GUIDs, sorted).
type Grant struct {
	All           bool     `json:"all"`
	Subscriptions []string `json:"subscriptions"`
}

// Covers reports whether the grant reaches the clusters of subscriptionID (any case).
func (g Grant) Covers(subscriptionID string) bool {
	if g.All {
		return true
	}
	for _, s := range g.Subscriptions {
		if strings.EqualFold(s, subscriptionID) {
			return true
		}
	}
	return false
}
