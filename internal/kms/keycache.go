package kms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/store"
)

// The view loads a key on its first use: its key record by a point Get,
// its material records by a Range, its policy from the view's shared
// documents; and keeps it in a cache bounded by a CLOCK, like the
// material's (matcache.go). Evicting a key retires its unsealed material.
//
// A load must not put into the view a key older or newer than the view's
// revision. The unit revision of a key is the newest ModRev of its key
// record and material records; the index entry holds the unit revision
// the view applied (rev), or, until the view applies a write of the key's
// unit, the revision of its index record (indexOnly: a key record or
// material written before the view loaded changed nothing the view
// applied, and an index record written alone, by Upgrade or a repair, is
// newer than the key's unit). A material record is deleted only in a
// transaction that also writes or deletes its key record, so a deletion
// shows in the key record's ModRev. A load reads the key record, the
// material, and the key record again (a change between them: read again),
// then, under the view's lock, compares the unit revision it read, U, with
// the view:
//   - U newer than the view's revision: the follower is behind; wait for
//     it and load again;
//   - the entry's unit revision newer than U: the key changed after the
//     read; load again;
//   - no entry: the key was deleted (NotFound);
//   - else the load is the key as of the view's revision: insert it.

// DefaultKeyCache is how many keys the view keeps loaded when
// Options.KeyCache is 0.
const DefaultKeyCache = 100_000

// loadTimeout bounds a load's store reads; a lookup has no context of its
// own.
const loadTimeout = 30 * time.Second

// errKeyChanging is a load that kept meeting newer writes.
var errKeyChanging = errors.New("kms: the key kept changing while it loaded")

// key returns the key id of a Region: from the cache, else loaded from the
// store if the index has it; nil if the view has no such key. An error is
// the store's: the key may exist.
func (v *view) key(region, id string) (*key, error) {
	v.mu.RLock()
	k := v.keys[keyRef{region, id}]
	var e ixEntry
	var indexed bool
	if k == nil {
		e, indexed = v.idx.get(region, id)
	}
	v.mu.RUnlock()
	if k != nil {
		if !k.used.Load() {
			k.used.Store(true)
		}
		return k, nil
	}
	if !indexed {
		return nil, nil
	}
	v.mu.RLock()
	account := v.idx.names.name(e.account)
	v.mu.RUnlock()
	return v.load(account, region, id)
}

// load reads a key and its material from the store and puts them into the
// view, or returns the key another request loaded first.
func (v *view) load(account, region, id string) (*key, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	kp := keyPath(account, region, id)
	for range 100 {
		v.mu.RLock()
		gen := v.gen
		v.mu.RUnlock()
		kv, err := v.s.st.Get(ctx, kp)
		if errors.Is(err, store.ErrNotFound) {
			// Deleted at a revision this view has yet to apply, or by an
			// older Trent, which left the index record behind: the repair
			// deletes it if so (indexrepair.go).
			v.repairs.add(kp)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kms: load key %s: %w", id, err)
		}
		mats, _, err := v.s.st.Range(ctx, materialPrefix(account, region, id))
		if err != nil {
			return nil, fmt.Errorf("kms: load the material of key %s: %w", id, err)
		}
		again, err := v.s.st.Get(ctx, kp)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kms: load key %s: %w", id, err)
		}
		if again.ModRev != kv.ModRev {
			continue
		}
		unit := kv.ModRev
		for _, m := range mats {
			unit = max(unit, m.ModRev)
		}
		rec, decodeErr := decodeKeyRecord(kv.Value)
		v.mu.Lock()
		viewRev := max(v.rev, v.s.follower.Applied())
		e, ok := v.idx.get(region, id)
		ref := keyRef{region, id}
		switch {
		case v.gen != gen:
			// The view was loaded anew meanwhile (its watch fell behind
			// a compaction): its entries no longer tell what it applied
			// after this read, so the read may be older than the view.
			v.mu.Unlock()
			continue
		case !ok:
			v.mu.Unlock()
			return nil, nil
		case unit > viewRev:
			v.mu.Unlock()
			if err := v.s.follower.Wait(ctx, unit); err != nil {
				return nil, fmt.Errorf("kms: load key %s: %w", id, err)
			}
			continue
		case !e.indexOnly && e.rev > unit:
			v.mu.Unlock()
			continue
		case v.keys[ref] != nil:
			k := v.keys[ref]
			v.mu.Unlock()
			return k, nil
		}
		p := path{account: account, region: region, kind: "keys", id: id}
		if decodeErr == nil && e.indexOnly && kv.ModRev > e.rev {
			// A key record newer than its index record, which the view
			// has not applied since it loaded: written before, by an
			// older Trent, which left the index record stale.
			v.s.log.Warn("kms: an older Trent wrote a key without its index record; indexing it", "key", arn.KeyARN(region, account, id))
			v.setIndex(p, v.indexFor(p, rec), kv.ModRev)
			v.repairs.add(kp)
			e, _ = v.idx.get(region, id)
		}
		v.putKeyRecord(p, kv, rec, decodeErr)
		k := v.keys[ref]
		if k != nil {
			for _, m := range mats {
				mp, _ := parsePath(m.Key)
				v.putMaterial(mp, m)
			}
			e.rev, e.indexOnly = unit, false
			v.idx.set(region, id, e)
			v.evict(&ref)
		}
		v.mu.Unlock()
		return k, nil
	}
	return nil, errKeyChanging
}

func materialPrefix(account, region, id string) string {
	return regionPrefix(account, region) + "material/" + id + "/"
}

// setKey puts the loaded key k at ref, replacing what is there; the
// caller evicts once its material is in too. The caller holds v.mu for
// writing.
func (v *view) setKey(ref keyRef, k *key) {
	if old := v.keys[ref]; old != nil {
		// A change keeps the key as recently used as it was.
		k.used.Store(old.used.Load())
	} else {
		k.used.Store(true)
		v.ring = append(v.ring, ref)
	}
	v.keys[ref] = k
}

// evict drops keys not used since the clock hand last passed them, but
// keep (if not nil), until the cache is within its bound. The ring may
// hold places of keys dropped otherwise (deleted): it is compacted once
// they are half of it. The caller holds v.mu for writing.
func (v *view) evict(keep *keyRef) {
	max := v.maxKeys
	if max <= 0 {
		max = DefaultKeyCache
	}
	if len(v.ring) > 2*len(v.keys)+64 {
		seen := make(map[keyRef]bool, len(v.keys))
		v.ring = slices.DeleteFunc(v.ring, func(ref keyRef) bool {
			drop := v.keys[ref] == nil || seen[ref]
			seen[ref] = true
			return drop
		})
		v.hand = 0
	}
	for len(v.keys) > max && len(v.ring) > 0 {
		if v.hand >= len(v.ring) {
			v.hand = 0
		}
		ref := v.ring[v.hand]
		k := v.keys[ref]
		if k != nil && (k.used.Swap(false) || (keep != nil && ref == *keep)) {
			v.hand++
			continue
		}
		last := len(v.ring) - 1
		v.ring[v.hand], v.ring[last] = v.ring[last], keyRef{}
		v.ring = v.ring[:last]
		if k != nil {
			v.dropKey(ref)
		}
	}
}

// dropKey removes a loaded key and its material from the cache, retiring
// its unsealed material: a request that holds it stays correct, and its
// key bytes are cleared once none does.
func (v *view) dropKey(ref keyRef) {
	delete(v.keys, ref)
	for _, e := range v.mats[ref] {
		v.retireMaterial(e)
	}
	delete(v.mats, ref)
}

// bumpRev records in the index that a record of a key's unit was written
// at rev.
func (v *view) bumpRev(region, id string, rev int64) {
	if e, ok := v.idx.get(region, id); ok && (e.indexOnly || rev > e.rev) {
		// Applied after the view loaded, rev is newer than any index
		// record's revision the entry holds.
		e.rev, e.indexOnly = rev, false
		v.idx.set(region, id, e)
	}
}

// putIndex puts a key's index record, keeping the counts, the references
// of policy documents and the multi-Region families.
func (v *view) putIndex(p path, kv store.KV) {
	ix, err := decodeIndexRecord(kv.Value)
	if err != nil {
		// The key is not served: failing closed until it is written again.
		v.s.log.Error("kms: undecodable key index record; the key is not served", "key", kv.Key, "err", err)
		v.deleteIndex(p)
		return
	}
	v.setIndex(p, ix, kv.ModRev)
}

// setIndex puts the index entry ix of the key at p, from an index record
// of revision rev. The entry keeps a unit revision it has (the key record
// that comes with a new index record bumps it).
func (v *view) setIndex(p path, ix indexRecord, rev int64) {
	e := ixEntry{rev: rev, indexOnly: true, due: ix.Due, unbound: ix.Unbound,
		account: v.idx.names.number(p.account), doc: v.idx.names.number(ix.Doc), store: v.idx.names.number(ix.Store)}
	v.idx.upsert(p.region, p.id, func(old ixEntry, had bool) ixEntry {
		if had {
			if old.indexOnly {
				e.rev = max(e.rev, old.rev)
			} else {
				e.rev, e.indexOnly = old.rev, false
			}
			v.unindexLocked(p.region, p.id, old)
		}
		return e
	})
	account, region := v.idx.names.name(e.account), intern(p.region)
	v.counts[acctRegion{account, region}]++
	if ix.Doc != "" {
		v.docUsers[docKey{account, region, v.idx.names.name(e.doc)}]++
	}
	if strings.HasPrefix(p.id, "mrk-") {
		fi := familyIndex(account, p.id)
		if !slices.Contains(v.family[fi], region) {
			v.family[fi] = append(slices.Clone(v.family[fi]), region)
		}
	}
}

// deleteIndex removes a key from the index.
func (v *view) deleteIndex(p path) {
	if old, ok := v.idx.get(p.region, p.id); ok {
		v.unindexLocked(p.region, p.id, old)
		v.idx.del(p.region, p.id)
	}
}

// unindexLocked takes back what putIndex counted of an entry.
func (v *view) unindexLocked(region, id string, e ixEntry) {
	account := v.idx.names.name(e.account)
	c := acctRegion{account, region}
	if v.counts[c]--; v.counts[c] <= 0 {
		delete(v.counts, c)
	}
	if e.doc != 0 {
		d := docKey{account, region, v.idx.names.name(e.doc)}
		if v.docUsers[d]--; v.docUsers[d] <= 0 {
			delete(v.docUsers, d)
		}
	}
	if strings.HasPrefix(id, "mrk-") {
		fi := familyIndex(account, id)
		kept := slices.DeleteFunc(slices.Clone(v.family[fi]), func(r string) bool { return r == region })
		if len(kept) == 0 {
			delete(v.family, fi)
		} else {
			v.family[fi] = kept
		}
	}
}

func familyIndex(account, id string) string { return account + "/" + id }

// familyOf returns the members of k's multi-Region key by Region, or just k
// for a single-Region key, loading them. The map is a copy.
func (v *view) familyOf(k *key) (map[string]*key, error) {
	regions := []string{k.rec.Region}
	if k.rec.multiRegion() {
		v.mu.RLock()
		regions = slices.Clone(v.family[familyIndex(k.rec.Account, k.rec.ID)])
		v.mu.RUnlock()
	}
	out := map[string]*key{}
	for _, region := range regions {
		m, err := v.key(region, k.rec.ID)
		if err != nil {
			return nil, err
		}
		if m != nil && m.rec.Account == k.rec.Account {
			out[region] = m
		}
	}
	return out, nil
}

// multiRegionKeyARNs returns the ARNs of an account's multi-Region keys by
// Region.
func (v *view) multiRegionKeyARNs(account string) map[string][]string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := map[string][]string{}
	for fi, regions := range v.family {
		id, ok := strings.CutPrefix(fi, account+"/")
		if !ok {
			continue
		}
		for _, r := range regions {
			out[r] = append(out[r], arn.KeyARN(r, account, id))
		}
	}
	return out
}

// keyIDs returns the ids of the keys of one account and Region, sorted.
func (v *view) keyIDs(account, region string) []string {
	v.mu.RLock()
	var out []string
	v.idx.eachIn(account, region, func(id string, _ ixEntry) { out = append(out, id) })
	v.mu.RUnlock()
	slices.Sort(out)
	return out
}

// keysInStore returns the ids of the keys of one account and Region in a
// custom key store, sorted.
func (v *view) keysInStore(account, region, storeID string) []string {
	v.mu.RLock()
	var out []string
	if n, ok := v.idx.names.lookup(storeID); ok && storeID != "" {
		v.idx.eachIn(account, region, func(id string, e ixEntry) {
			if e.store == n {
				out = append(out, id)
			}
		})
	}
	v.mu.RUnlock()
	slices.Sort(out)
	return out
}

// dueKeys returns the Region and id of every key whose sweeps are due by
// now.
func (v *view) dueKeys(now time.Time) []keyRef {
	t := now.UnixNano()
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []keyRef
	due := func(e ixEntry) bool { return e.due != 0 && e.due <= t }
	v.idx.each(due, func(region, id string, _ ixEntry) { out = append(out, keyRef{region, id}) })
	return out
}

// unboundKeys returns the paths of the keys marked unbound (bindLegacy).
func (v *view) unboundKeys() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []string
	unbound := func(e ixEntry) bool { return e.unbound }
	v.idx.each(unbound, func(region, id string, e ixEntry) {
		out = append(out, keyPath(v.idx.names.name(e.account), region, id))
	})
	return out
}

// keysWithGrants returns the keys of a Region (of one account, if not "")
// that have grants, loading them: the grants are all in the view, the keys
// need not be.
func (v *view) keysWithGrants(region, account string) ([]*key, error) {
	v.mu.RLock()
	var refs []keyRef
	for ref, gs := range v.grants {
		if ref.region == region && len(gs) > 0 && (account == "" || gs[0].rec.Account == account) {
			refs = append(refs, ref)
		}
	}
	v.mu.RUnlock()
	var out []*key
	for _, ref := range refs {
		k, err := v.key(ref.region, ref.id)
		if err != nil {
			return nil, err
		}
		if k != nil && (account == "" || k.rec.Account == account) {
			out = append(out, k)
		}
	}
	return out, nil
}

// familyRegions returns the Regions of the members of k's multi-Region
// key, or k's Region for a single-Region key, without loading them.
func (v *view) familyRegions(k *key) []string {
	if !k.rec.multiRegion() {
		return []string{k.rec.Region}
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Clone(v.family[familyIndex(k.rec.Account, k.rec.ID)])
}

// hasKey reports whether the view has a key, loaded or not.
func (v *view) hasKey(region, id string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	_, ok := v.idx.get(region, id)
	return ok
}
