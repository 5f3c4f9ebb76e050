package kms

import "github.com/trentkms/trent/internal/store"

// Follower is the follower that keeps this service's view current, for the
// fence that confirms the view is (internal/health).
func (s *Service) Follower() *store.Follower { return s.follower }

// KeyStoreState is a custom key store as a readiness probe reports it.
type KeyStoreState struct {
	ID, Account, Region, Type string
	// State is the ConnectionState of the record (CONNECTED, DISCONNECTED
	// or FAILED); Connected says whether this node holds a connection.
	State     string
	Connected bool
}

// KeyStoreStates returns every custom key store of every account, by id.
func (s *Service) KeyStoreStates() []KeyStoreState {
	var out []KeyStoreState
	for _, r := range s.view.keyStoresOf("", "") {
		out = append(out, KeyStoreState{
			ID: r.ID, Account: r.Account, Region: r.Region, Type: r.Type, State: r.State,
			Connected: s.view.conn(r.Region, r.ID).connected(),
		})
	}
	return out
}
