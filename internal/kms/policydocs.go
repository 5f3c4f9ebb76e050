package kms

import (
	"context"
	"errors"
	"strings"
	"unique"

	"github.com/trentkms/trent/internal/store"
)

// Most keys carry the same key policy (their account's default policy), so
// the store holds each distinct document once per account and Region, under
// its SHA-256 (keypolicies/<ref>), and key records name it (PolicyRef): a
// key record is then about a third of its former size, and so are the store
// file and the pages a load reads (docs/BENCHMARKS.md, 2026-12-04).
//
// Every write of a key record puts its document in the same transaction, so
// a committed key record always has its document. The sweep deletes a
// document no key in this node's view names, conditional on the revision it
// saw: a concurrent write that names the document puts it again, which
// either fails the sweep's delete or writes the document back after it.

// docKey indexes the policy documents of the view.
type docKey struct{ account, region, ref string }

// policyDoc is one stored key policy document.
type policyDoc struct {
	ref    string
	text   string
	handle unique.Handle[string] // keeps text the canonical copy (internRecord)
	modRev int64
}

// putPolicyDoc adds a document record to the view and gives it to the keys
// that named it before it came. A document whose text is not its reference
// is refused: keys that name it deny every request.
func (v *view) putPolicyDoc(p path, kv store.KV) {
	if policyRef(string(kv.Value)) != p.id {
		v.s.log.Error("kms: key policy document does not match its reference; the keys that name it deny every request", "key", kv.Key)
		return
	}
	dk := docKey{intern(p.account), intern(p.region), p.id}
	if d := v.docs[dk]; d != nil {
		// The same text again (a write that names it): keep the copy the
		// keys share.
		d.modRev = kv.ModRev
	} else {
		h := unique.Make(string(kv.Value))
		dk.ref = strings.Clone(p.id) // kv.Key, the path, is not kept
		v.docs[dk] = &policyDoc{ref: dk.ref, text: h.Value(), handle: h, modRev: kv.ModRev}
	}
	d := v.docs[dk]
	refs := v.waiting[dk]
	delete(v.waiting, dk)
	for _, ref := range refs {
		k := v.keys[ref]
		if k == nil || k.rec.PolicyRef != d.ref || k.rec.Policy != "" {
			continue // replaced or deleted meanwhile
		}
		rec := k.rec
		rec.Policy = d.text
		v.putKey(rec.Account, ref.region, ref.id, rec, k.modRev)
	}
}

// sweepPolicyDocs deletes the policy documents no key of this node's view
// names.
func (s *Service) sweepPolicyDocs(ctx context.Context) error {
	type unused struct {
		path   string
		modRev int64
	}
	var todo []unused
	s.view.mu.RLock()
	for dk, d := range s.view.docs {
		if s.view.docUsers[dk] == 0 {
			todo = append(todo, unused{policyDocPath(dk.account, dk.region, dk.ref), d.modRev})
		}
	}
	s.view.mu.RUnlock()
	var errs []error
	for _, u := range todo {
		_, err := s.st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: u.path, ModRev: u.modRev}}, Deletes: []string{u.path}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
