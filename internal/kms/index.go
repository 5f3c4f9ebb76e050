package kms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
)

// Every key record has an index record beside it, written and deleted in
// the same transaction (storedKey, deletedKey): the few things a node must
// know of every key without loading it, which is all it loads of a key at
// start. The view's walks of every key (counts for the quota, the
// background sweeps, the references of policy documents, ListKeys, custom
// key stores) go over the index; a key itself is loaded on its first use.

// keyIndexPath is where a key's index record is stored: "keyindex" sorts
// before "keypolicies" and "keys", so a load meets the index records of a
// Region first and can pass over the key and material records unread.
func keyIndexPath(account, region, id string) string {
	return regionPrefix(account, region) + "keyindex/" + id
}

// indexRecord is a key's index record.
type indexRecord struct {
	// Due is when the background sweeps have something to do with the key
	// (Unix nanoseconds; 0: never): the earliest of its deletion date, its
	// next scheduled rotation and the expiry of its imported material.
	Due int64 `json:"due,omitempty"`
	// Doc is the reference of the key's policy document, if it names one.
	Doc string `json:"doc,omitempty"`
	// Store is the custom key store the key is in, if any.
	Store string `json:"cks,omitempty"`
	// Unbound marks a key whose policy names a user or role its bindings do
	// not cover (a record from before binding), for bindLegacy.
	Unbound bool `json:"unbound,omitempty"`
}

// indexOf is the index record of rec, whose PolicyRef (or, in records from
// before documents were shared, Policy) is set as stored.
func indexOf(rec *keyRecord) indexRecord {
	ix := indexRecord{Due: int64(rec.due()), Doc: rec.PolicyRef, Store: rec.CustomKeyStoreID}
	// Only a policy that names a user or role can be unbound; most name
	// neither, and are not parsed.
	if rec.Policy != "" && (strings.Contains(rec.Policy, ":user/") || strings.Contains(rec.Policy, ":role/")) {
		ix.Unbound = unboundPolicy(policy.BindablePrincipals([]byte(rec.Policy)), rec.PolicyBindings)
	}
	return ix
}

func (ix indexRecord) marshal() []byte { return marshal(ix) }

// due is when Tick has something to do with the key of r: the same
// conditions as Tick's, as a time; 0 for never.
func (r *keyRecord) due() stamp {
	var d stamp
	earliest := func(t stamp) {
		if d == 0 || t < d {
			d = t
		}
	}
	if r.State == PendingDeletion {
		// A record without a date is due at once, as Tick has it.
		earliest(max(r.DeletionDate, 1))
	}
	if r.RotationEnabled && r.State == Enabled && !r.replica() && !r.NextRotation.IsZero() {
		earliest(r.NextRotation)
	}
	if r.Origin == originExternal {
		for _, m := range r.Materials {
			if m.ExpirationModel == expires && !m.ValidTo.IsZero() {
				earliest(m.ValidTo)
			}
		}
	}
	return d
}

// upgradePage is how many records Upgrade reads at a time.
const upgradePage = 1000

// upgradeBatch is how many index records Upgrade writes a transaction:
// each takes a put and two compares, and etcd allows 128 operations.
const upgradeBatch = 40

// Upgrade writes the index record of every key record that has none: the
// records of a store of schema version 2 or older (store.CheckSchema runs
// it before raising the version to 3). Each is written conditional on the
// key record it indexes being unchanged and the index record still absent;
// a key changed meanwhile got its index record from the change.
func Upgrade(ctx context.Context, st store.Store, from int) error {
	if from >= 3 {
		return nil
	}
	var (
		region  string            // acct/<a>/kms/<r>/ of the records being read
		indexed map[string]bool   // key ids of region with an index record
		docs    map[string]string // region's policy documents by reference
		todo    []store.KV        // key records without one
	)
	var errs []error
	flush := func() {
		if err := writeIndex(ctx, st, todo, docs); err != nil {
			errs = append(errs, err)
		}
		todo = todo[:0]
	}
	visit := func(kv store.KV) error {
		p, ok := parsePath(kv.Key)
		if !ok || !upgradeKinds[p.kind] {
			return nil
		}
		if rp := regionPrefix(p.account, p.region); rp != region {
			flush() // its keys' documents are the Region's
			region, indexed, docs = rp, map[string]bool{}, map[string]string{}
		}
		switch {
		case p.kind == "keyindex":
			indexed[p.id] = true
		case p.kind == "keypolicies":
			docs[p.id] = string(kv.Value)
		case !indexed[p.id]:
			todo = append(todo, store.KV{Key: kv.Key, Value: bytes.Clone(kv.Value), ModRev: kv.ModRev})
		}
		return nil
	}
	keep := func(k []byte) bool {
		p, ok := parsePath(string(k))
		return ok && upgradeKinds[p.kind]
	}
	// A page at a time, writing between pages: a write from inside a scan
	// would wait, on bolt, for the scan's own read transaction whenever the
	// file had to grow (bbolt remaps only when no reader holds the map).
	// Pages are each as current as the store; the writes are conditional,
	// so a record changed between pages is left to the change.
	for after := ""; ; {
		kvs, err := store.Page(ctx, st, "acct/", after, upgradePage)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if keep([]byte(kv.Key)) {
				visit(kv)
			}
			if len(todo) >= upgradeBatch {
				flush()
			}
		}
		if len(kvs) < upgradePage {
			break
		}
		after = kvs[len(kvs)-1].Key
	}
	flush()
	return errors.Join(errs...)
}

// upgradeKinds are the records Upgrade reads, in the order a Region's
// records sort: index records, policy documents, key records.
var upgradeKinds = map[string]bool{"keyindex": true, "keypolicies": true, "keys": true}

// writeIndex writes the index records of key records read at their ModRev,
// whose policies are among docs: in one transaction, or, if one of them
// changed meanwhile, one by one.
func writeIndex(ctx context.Context, st store.Store, kvs []store.KV, docs map[string]string) error {
	if len(kvs) == 0 {
		return nil
	}
	var txn store.Txn
	for _, kv := range kvs {
		p, _ := parsePath(kv.Key)
		var rec keyRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("kms: undecodable key record %s: %w", kv.Key, err)
		}
		rec.upgrade()
		if rec.PolicyRef != "" {
			rec.Policy = docs[rec.PolicyRef] // to tell whether it is bound
		}
		ip := keyIndexPath(p.account, p.region, p.id)
		txn.Compares = append(txn.Compares, store.Compare{Key: kv.Key, ModRev: kv.ModRev}, store.Compare{Key: ip})
		txn.Puts = append(txn.Puts, store.KV{Key: ip, Value: indexOf(&rec).marshal()})
	}
	_, err := st.Txn(ctx, txn)
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	// Changed meanwhile: by this version, which wrote the index record,
	// or by an older Trent still running, which did not; each key is
	// indexed as it is now (indexrepair.go).
	var errs []error
	for _, kv := range kvs {
		err := store.ErrConflict
		for try := 0; errors.Is(err, store.ErrConflict) && try < 8; try++ {
			err = repairIndexOnce(ctx, st, kv.Key)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
