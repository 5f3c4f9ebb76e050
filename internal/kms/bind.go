package kms

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
)

// bindLegacy binds, once, the key policies and grants stored before their
// principals were bound (keypolicy.go, grants.go): to the users and roles
// that hold the names now, which is the best that can be known of them (a
// principal that no longer exists binds to nothing and matches no one). Until
// a record is bound, its user and role principals match no one: failing
// closed. New calls it before serving; a record changed meanwhile is left
// for the next start, and without a resolver nothing is bound.
func (s *Service) bindLegacy(ctx context.Context) error {
	if s.principals == nil {
		return nil
	}
	type todo struct {
		path string
		rev  int64
	}
	var recs []todo
	// The keys that need it are marked in their index records (by the
	// upgrade that wrote them, or any write of an unbound key): no key is
	// read to find them.
	for _, p := range s.view.unboundKeys() {
		recs = append(recs, todo{p, anyRev})
	}
	s.view.mu.RLock()
	for _, gs := range s.view.grants {
		for _, g := range gs {
			if unboundGrant(g.rec) {
				recs = append(recs, todo{grantPath(g.rec.Account, g.rec.Region, g.rec.KeyID, g.rec.ID), g.modRev})
			}
		}
	}
	s.view.mu.RUnlock()
	var errs []error
	wrote := false
	for _, t := range recs {
		kv, err := s.st.Get(ctx, t.path)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.rev != anyRev && kv.ModRev != t.rev) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		puts := []store.KV{{Key: t.path}}
		if p, _ := parsePath(t.path); p.kind == "keys" {
			rec, err := s.readKeyRecord(ctx, p.account, p.region, kv.Value)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			rec.PolicyBindings = s.bindMissing(policy.BindablePrincipals([]byte(rec.Policy)), rec.PolicyBindings)
			puts = storedKey(rec)
		} else {
			var rec grantRecord
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				errs = append(errs, err)
				continue
			}
			var ps []string
			for _, p := range []string{rec.Grantee, rec.Retiring} {
				if p != "" && bindableARN(p) {
					ps = append(ps, p)
				}
			}
			rec.Bindings = s.bindMissing(ps, rec.Bindings)
			puts[0].Value = marshal(rec)
		}
		_, err = s.st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: t.path, ModRev: kv.ModRev}}, Puts: puts})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			errs = append(errs, err)
			continue
		}
		wrote = wrote || err == nil
		s.log.Info("kms: bound the principals of a record stored before binding", "record", t.path)
	}
	if wrote {
		// New runs before Run follows the store: load what was written.
		errs = append(errs, s.follower.Load(ctx))
	}
	return errors.Join(errs...)
}

// anyRev is a record bindLegacy reads at whatever revision it has.
const anyRev = -1

// bindMissing adds to bindings the principals it lacks, resolved now.
func (s *Service) bindMissing(principals []string, bindings map[string]string) map[string]string {
	out := map[string]string{}
	for p, id := range bindings {
		out[p] = id
	}
	for _, p := range principals {
		if _, ok := out[p]; !ok {
			out[p], _ = s.principals.PrincipalID(p)
		}
	}
	return out
}
