package iam

import "github.com/trentkms/trent/internal/store"

// Follower is the follower that keeps the identity view current, for the
// fence that confirms the view is (internal/health).
func (d *Directory) Follower() *store.Follower { return d.follower }
