package kms

import (
	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/store"
)

// Follower is the follower that keeps this service's view current, for the
// fence that confirms the view is (internal/health).
func (s *Service) Follower() *store.Follower { return s.follower }

// KeyStoreState is a custom key store as a readiness probe reports it.
type KeyStoreState = customkeystore.State

// KeyStoreStates returns every custom key store of every account, by id.
func (s *Service) KeyStoreStates() []KeyStoreState { return s.stores.States() }
