package kms

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
)

// view is this node's in-memory copy of the KMS records, kept current by a
// store.Follower: every record but keys and their material, an index of
// every key (keyindex.go), and the keys in use, loaded on their first use
// into a bounded cache (keycache.go). Entries are immutable once
// published: a change replaces the *key, so a request that looked one up
// sees a consistent key to the end.
type view struct {
	s *Service

	mu sync.RWMutex
	// gen counts the view's loads (resetLocked): a lazy load that began
	// before the last one is read again (keycache.go).
	gen uint64
	// idx is every key; keys the keys loaded, by Region and key id, and
	// mats their material versions, sealed (matcache.go).
	idx     keyIdx
	keys    map[keyRef]*key
	mats    map[keyRef][]*matEntry
	aliases map[string]*aliasRecord // account/region/alias name
	byKey   map[keyRef][]string     // a key's alias names
	grants  map[keyRef][]*grant     // a key's grants
	tokens  map[string]*grant       // grant token → grant
	// authzGrants is grants as authorization takes them, shared read-only.
	authzGrants map[keyRef][]*authz.Grant
	// aliasLayer caches kms:ResourceAliases per key; unindexAlias and
	// alias puts drop the entry.
	aliasLayer map[keyRef]policy.Keys
	// family indexes multi-Region keys by account/key id → their Regions,
	// so DescribeKey and family writes find the members without a scan.
	family map[string][]string
	// ring, hand and maxKeys are the CLOCK that bounds keys (keycache.go).
	ring    []keyRef
	hand    int
	maxKeys int
	// rev is the revision of the last watch response applied.
	rev int64
	// loading is set while a load puts records: every key record is
	// taken, not only new ones.
	loading bool
	// counts is the number of keys of each account and Region, kept as
	// keys come and go: the keys quota reads it on every CreateKey.
	counts map[acctRegion]int
	// docs is the key policy documents by account, Region and reference;
	// docUsers counts the keys that name each, for the sweep of unused
	// documents, and waiting the keys that named one before it came
	// (policydocs.go).
	docs     map[docKey]*policyDoc
	docUsers map[docKey]int
	waiting  map[docKey][]keyRef
	// policies shares compiled key policies among keys (intern.go).
	policies policyCache
	// cache bounds the material that is unsealed (matcache.go).
	cache matCache
	// repairs is the keys whose index records an older Trent left
	// missing or stale, for Run to write (indexrepair.go).
	repairs repairQueue
}

// key is one KMS key as the view holds it.
type key struct {
	rec    keyRecord
	arn    string
	modRev int64
	// policy is the compiled key policy; nil if it does not compile, which
	// denies every request (checked documents always compile).
	policy *policy.Policy

	keysOnce sync.Once
	keys     policy.Keys

	// used is set by every lookup and cleared by the key cache's clock
	// hand (keycache.go).
	used atomic.Bool

	// cks is the connection of the custom key store the key is in, if any.
	cks *customkeystore.Conn
}

func newView(s *Service) *view {
	return &view{s: s, idx: newKeyIndex(), keys: map[keyRef]*key{}, mats: map[keyRef][]*matEntry{}, aliases: map[string]*aliasRecord{}, byKey: map[keyRef][]string{}, grants: map[keyRef][]*grant{}, tokens: map[string]*grant{}, authzGrants: map[keyRef][]*authz.Grant{}, aliasLayer: map[keyRef]policy.Keys{}, family: map[string][]string{}, counts: map[acctRegion]int{}, docs: map[docKey]*policyDoc{}, docUsers: map[docKey]int{}, waiting: map[docKey][]keyRef{}, repairs: newRepairQueue()}
}

// keyRef indexes the view's maps of per-key records: a struct, so that a
// lookup builds no string.
type keyRef struct{ region, id string }

func keyIndex(region, id string) keyRef { return keyRef{region, id} }

func aliasIndex(account, region, name string) string { return account + "/" + region + "/" + name }

// path is a parsed KMS store path.
type path struct {
	account, region, kind, id, sub string
}

// parsePath splits acct/<a>/kms/<r>/<kind>/<id>[/<sub>]; ok is false for other records.
func parsePath(p string) (path, bool) {
	parts := strings.SplitN(p, "/", 7)
	if len(parts) < 6 || parts[0] != "acct" || parts[2] != "kms" {
		return path{}, false
	}
	out := path{account: parts[1], region: parts[3], kind: parts[4], id: parts[5]}
	if out.kind == "aliases" {
		// Alias names contain slashes: the rest of the path is the name.
		out.id = strings.Join(parts[5:], "/")
	} else if len(parts) == 7 {
		out.sub = parts[6]
	}
	return out, true
}

func (v *view) Reset(kvs []store.KV, _ int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.resetLocked()
	v.loading = true
	defer func() { v.loading = false }()
	for _, kv := range kvs {
		v.put(kv)
	}
	v.evict(nil)
}

// Keep selects the KMS records under "acct/" but keys and their material:
// loading skips accounts' IAM records and the keys without reading them.
// A key is loaded on its first use (keycache.go).
func (v *view) Keep(k []byte) bool {
	return v.skipFrom(k) < 0 && isKMSRecord(k)
}

// isKMSRecord reports whether k is acct/<account>/kms/....
func isKMSRecord(k []byte) bool {
	rest, ok := bytes.CutPrefix(k, []byte("acct/"))
	if !ok {
		return false
	}
	i := bytes.IndexByte(rest, '/')
	return i >= 0 && bytes.HasPrefix(rest[i+1:], []byte("kms/"))
}

// skipFrom is, for a key or material record's path, the length of its
// acct/<a>/kms/<r>/keys or …/material prefix; -1 for any other path.
func (v *view) skipFrom(k []byte) int {
	rest, ok := bytes.CutPrefix(k, []byte("acct/"))
	if !ok || !isKMSRecord(k) {
		return -1
	}
	n := len(k) - len(rest)
	for range 3 { // <a>/, kms/, <r>/
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			return -1
		}
		n, rest = n+i+1, rest[i+1:]
	}
	for _, kind := range []string{"keys/", "material/"} {
		if bytes.HasPrefix(rest, []byte(kind)) {
			return n + len(kind) - 1
		}
	}
	return -1
}

// Skip passes over the run of key or material records k begins: every
// path under acct/<a>/kms/<r>/keys/ (or material/) is refused, and '0'
// follows '/'.
func (v *view) Skip(k []byte) []byte {
	n := v.skipFrom(k)
	if n < 0 {
		return nil
	}
	next := append([]byte(nil), k[:n]...)
	return append(next, '0')
}

// LoadFrom replaces the view with the records scan puts, one at a time:
// nothing holds every record's bytes at once (store.Loader). Keep leaves
// the key and material records out.
func (v *view) LoadFrom(scan func(put func(store.KV)) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.resetLocked()
	v.loading = true
	defer func() { v.loading = false }()
	err := scan(v.put)
	v.evict(nil)
	return err
}

// decodeKeyRecord decodes a stored key record: one with an unknown or
// missing spec, usage or origin is an error.
func decodeKeyRecord(b []byte) (keyRecord, error) {
	var rec keyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return keyRecord{}, err
	}
	if rec.Spec == 0 || rec.Usage == 0 || rec.Origin == 0 {
		return keyRecord{}, errors.New("kms: key record without a key spec, usage or origin")
	}
	rec.upgrade()
	return rec, nil
}

func (v *view) resetLocked() {
	v.gen++
	v.idx = newKeyIndex()
	for ref := range v.keys {
		v.dropKey(ref)
	}
	v.keys = map[keyRef]*key{}
	v.ring, v.hand = nil, 0
	v.counts = map[acctRegion]int{}
	v.docs = map[docKey]*policyDoc{}
	v.docUsers = map[docKey]int{}
	v.waiting = map[docKey][]keyRef{}
	v.mats = map[keyRef][]*matEntry{}
	v.cache.reset()
	v.aliases = map[string]*aliasRecord{}
	v.byKey = map[keyRef][]string{}
	v.grants = map[keyRef][]*grant{}
	v.tokens = map[string]*grant{}
	v.authzGrants = map[keyRef][]*authz.Grant{}
	v.aliasLayer = map[keyRef]policy.Keys{}
	v.s.stores.Reset()
	v.family = map[string][]string{}
}

// ref is the index of a key's records, sharing the strings of the key's
// own record when the view has it, so that no record's path is kept
// alive by the index (kv.Key may be a path the store lent).
func (v *view) ref(region, id string) keyRef {
	if k := v.keys[keyRef{region, id}]; k != nil {
		return keyRef{k.rec.Region, k.rec.ID}
	}
	return keyRef{intern(region), strings.Clone(id)}
}

func (v *view) Apply(resp store.WatchResponse) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// A transaction's index records first, then its policy documents,
	// then its key records, then the rest: a new key's record then finds
	// its index entry and document, and its material finds the key.
	events := resp.Events
	if len(events) > 1 {
		events = slices.Clone(events)
		slices.SortStableFunc(events, func(a, b store.Event) int { return applyOrder(a.KV.Key) - applyOrder(b.KV.Key) })
	}
	// indexed is the keys whose index records the transaction wrote or
	// deleted: every write of a key record by this version of Trent. A
	// key record written without one is an older Trent's (indexrepair.go).
	// A slice: a transaction writes one key or a few, and a map costs
	// more than the scan; a large one (a batch of Upgrade's) takes a map.
	var indexed []keyRef
	var indexedMap map[keyRef]bool
	for _, e := range events {
		p, ok := parsePath(e.KV.Key)
		if !ok {
			continue
		}
		switch ref := (keyRef{p.region, p.id}); {
		case p.kind == "keyindex" && len(indexed) < 16:
			indexed = append(indexed, ref)
		case p.kind == "keyindex":
			if indexedMap == nil {
				indexedMap = make(map[keyRef]bool, len(events))
			}
			indexedMap[ref] = true
		case p.kind == "keys" && !slices.Contains(indexed, ref) && !indexedMap[ref]:
			v.unindexedWrite(p, e)
		}
		if e.Type == store.Delete {
			v.deleteAt(p)
		} else {
			v.putAt(p, e.KV)
		}
	}
	v.rev = max(v.rev, resp.Revision)
	v.evict(nil)
}

// applyOrder ranks a record's kind for Apply.
func applyOrder(k string) int {
	p, _ := parsePath(k)
	switch p.kind {
	case "keyindex":
		return 0
	case "keypolicies":
		return 1
	case "keys":
		return 2
	}
	return 3
}

func (v *view) put(kv store.KV) {
	if p, ok := parsePath(kv.Key); ok {
		v.putAt(p, kv)
	}
}

// putAt is put of a record whose path parsed as p.
func (v *view) putAt(p path, kv store.KV) {
	switch p.kind {
	case "keyindex":
		v.putIndex(p, kv)
	case "keys":
		v.bumpRev(p.region, p.id, kv.ModRev)
		// A key not loaded is loaded on its first use, except a new one:
		// its creator is about to use it, and the transaction that made it
		// holds all its material.
		if v.keys[keyRef{p.region, p.id}] == nil && !v.loading && kv.CreateRev != kv.ModRev {
			return
		}
		rec, err := decodeKeyRecord(kv.Value)
		v.putKeyRecord(p, kv, rec, err)
	case "keypolicies":
		v.putPolicyDoc(p, kv)
	case "material":
		v.bumpRev(p.region, p.id, kv.ModRev)
		if v.keys[keyRef{p.region, p.id}] == nil && !v.loading {
			return // loaded with its key
		}
		v.putMaterial(p, kv)
	case "grants":
		v.putGrant(p.region, p.id, kv)
	case "keystores":
		if err := v.s.stores.Put(p.region, p.id, kv.Value); err != nil {
			v.s.log.Error("kms: undecodable custom key store record", "key", kv.Key, "err", err)
		}
	case "aliases":
		var rec aliasRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			v.s.log.Error("kms: undecodable alias record", "key", kv.Key, "err", err)
			return
		}
		idx := aliasIndex(p.account, p.region, p.id)
		if old := v.aliases[idx]; old != nil {
			v.unindexAlias(p.region, old)
		}
		v.aliases[idx] = &rec
		ki := keyIndex(p.region, rec.TargetKeyID)
		delete(v.aliasLayer, ki)
		v.byKey[ki] = append(v.byKey[ki][:len(v.byKey[ki]):len(v.byKey[ki])], rec.Name)
	}
}

// putMaterial puts a material record of a loaded key.
func (v *view) putMaterial(p path, kv store.KV) {
	var rec materialRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		v.s.log.Error("kms: undecodable material record", "key", kv.Key, "err", err)
		return
	}
	id, err := keys.ParseMaterialID(p.sub)
	if err != nil {
		v.s.log.Error("kms: undecodable material record", "key", kv.Key, "err", err)
		return
	}
	rec.Spec, rec.KeyStore = intern(rec.Spec), intern(rec.KeyStore)
	e := &matEntry{id: id, account: intern(p.account), rec: rec}
	if rec.KeyStore != "" {
		// A handle on the key in a custom key store's token, opened
		// under this lock as the store's connection needs.
		m, err := v.s.openMaterial(p.account, p.region, p.id, p.sub, rec)
		if err != nil {
			v.s.log.Error("kms: key material does not open", "key", kv.Key, "err", err)
			return
		}
		e.open.Store(&openMaterial{m: m})
		e.pinned = true
	}
	idx := v.ref(p.region, p.id)
	es := v.mats[idx]
	if old := find(es, id); old != nil {
		v.retireMaterial(old)
		es = slices.DeleteFunc(slices.Clone(es), func(x *matEntry) bool { return x == old })
	}
	v.mats[idx] = append(es[:len(es):len(es)], e)
}

// putKeyRecord puts the key of a record at p that decoding gave rec or err.
func (v *view) putKeyRecord(p path, kv store.KV, rec keyRecord, err error) {
	if err != nil {
		v.s.log.Error("kms: undecodable key record", "key", kv.Key, "err", err)
		// Not the key as it was before either: a later use loads it again.
		if ref := keyIndex(p.region, p.id); v.keys[ref] != nil {
			v.dropKey(ref)
		}
		return
	}
	if rec.PolicyRef != "" {
		rec.Policy = "" // the document record decides
		if d := v.docs[docKey{p.account, p.region, rec.PolicyRef}]; d != nil {
			rec.Policy, rec.PolicyRef = d.text, d.ref
		}
	}
	v.putKey(p.account, p.region, p.id, rec, kv.ModRev)
}

// putKey puts the key of a decoded record, stored at account, region and
// id, into the view.
func (v *view) putKey(account, region, id string, rec keyRecord, modRev int64) {
	internRecord(&rec)
	// Index by the record's own strings: kv.Key, the path, is not kept.
	ref := keyRef{rec.Region, rec.ID}
	if rec.Region != region || rec.ID != id {
		ref = keyRef{intern(region), strings.Clone(id)}
	}
	k := &key{rec: rec, arn: arn.KeyARN(rec.Region, rec.Account, rec.ID), modRev: modRev}
	if rec.PolicyRef != "" && rec.Policy == "" {
		// Its document is not in the view (every write puts the document
		// before the key): the key denies every request until it comes.
		v.s.log.Error("kms: the key policy document of a key is missing; the key denies every request", "key", k.arn, "policyRef", rec.PolicyRef)
		dk := docKey{intern(account), intern(region), rec.PolicyRef}
		v.waiting[dk] = append(v.waiting[dk], ref)
	} else {
		// The users and roles the policy names are those it was saved
		// with, by unique id (keypolicy.go).
		pol, err := v.policies.compile(rec.Policy, policy.Options{Kind: policy.ResourceKind, Bound: true, Bindings: rec.PolicyBindings})
		if err != nil {
			v.s.log.Error("kms: stored key policy does not compile; the key denies every request", "key", k.arn, "err", err)
		}
		k.policy = pol
	}
	if rec.CustomKeyStoreID != "" {
		k.cks = v.s.stores.Conn(region, rec.CustomKeyStoreID)
	}
	v.setKey(ref, k)
}

// unindexAlias drops an alias from its key's list, copying so that slices
// handed out earlier stay unchanged.
func (v *view) unindexAlias(region string, a *aliasRecord) {
	ki := keyIndex(region, a.TargetKeyID)
	delete(v.aliasLayer, ki)
	var kept []string
	for _, n := range v.byKey[ki] {
		if n != a.Name {
			kept = append(kept, n)
		}
	}
	if len(kept) == 0 {
		delete(v.byKey, ki)
	} else {
		v.byKey[ki] = kept
	}
}

func (v *view) delete(k string) {
	if p, ok := parsePath(k); ok {
		v.deleteAt(p)
	}
}

// deleteAt is delete of a record whose path parsed as p.
func (v *view) deleteAt(p path) {
	switch p.kind {
	case "keyindex":
		v.deleteIndex(p)
	case "keys":
		// Its index record goes in the same transaction, or, if an older
		// Trent deleted it, Apply has queued the index record's deletion
		// (indexrepair.go): the key is gone either way.
		v.deleteIndex(p)
		if ref := keyIndex(p.region, p.id); v.keys[ref] != nil {
			v.dropKey(ref)
		}
	case "material":
		idx := keyIndex(p.region, p.id)
		id, err := keys.ParseMaterialID(p.sub)
		if err != nil {
			return
		}
		if e := find(v.mats[idx], id); e != nil {
			v.closeMaterial(e)
			kept := slices.DeleteFunc(slices.Clone(v.mats[idx]), func(x *matEntry) bool { return x == e })
			if len(kept) == 0 {
				delete(v.mats, idx)
			} else {
				v.mats[idx] = kept
			}
		}
	case "keypolicies":
		delete(v.docs, docKey{p.account, p.region, p.id})
	case "grants":
		v.deleteGrant(p.region, p.id, p.sub)
	case "keystores":
		v.s.stores.Remove(p.region, p.id)
	case "aliases":
		idx := aliasIndex(p.account, p.region, p.id)
		if old := v.aliases[idx]; old != nil {
			v.unindexAlias(p.region, old)
		}
		delete(v.aliases, idx)
	}
}

// hasMaterial reports whether a version of a key's material is stored,
// without unsealing it.
func (v *view) hasMaterial(region, id, materialID string) bool {
	mid, err := keys.ParseMaterialID(materialID)
	if err != nil {
		return false
	}
	return v.materialEntry(region, id, mid) != nil
}

// materialEntry finds a version of a key's material, loading the key
// again if the cache evicted it since the caller looked it up.
func (v *view) materialEntry(region, id string, mid keys.MaterialID) *matEntry {
	ref := keyIndex(region, id)
	v.mu.RLock()
	e, loaded := find(v.mats[ref], mid), v.keys[ref] != nil
	v.mu.RUnlock()
	if e != nil || loaded {
		return e
	}
	if k, err := v.key(region, id); err != nil || k == nil {
		return nil
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return find(v.mats[ref], mid)
}

// material returns a version of a key's material, unsealing it on its first
// use since it left the cache, or nil if the key has no such version (or it
// does not open, which is logged).
func (v *view) material(region, id, materialID string) keys.Material {
	mid, err := keys.ParseMaterialID(materialID)
	if err != nil {
		return nil
	}
	e := v.materialEntry(region, id, mid)
	if e == nil {
		return nil
	}
	if o := e.open.Load(); o != nil {
		if !e.used.Load() {
			e.used.Store(true)
		}
		return o.m
	}
	m, err := v.s.openMaterial(e.account, region, id, materialID, e.rec)
	if err != nil {
		v.s.log.Error("kms: key material does not open", "key", keyIndex(region, id), "material", materialID, "err", err)
		return nil
	}
	return v.cache.add(e, m)
}

// closeMaterial destroys the open material of an entry the store deleted
// or replaced; the cache drops the closed entry when its hand reaches it.
func (v *view) closeMaterial(e *matEntry) {
	if m := v.cache.drop(e); m != nil {
		m.Destroy()
	}
}

func (v *view) alias(account, region, name string) *aliasRecord {
	v.mu.RLock()
	a := v.aliases[aliasIndex(account, region, name)]
	v.mu.RUnlock()
	return a
}

// keyCount is the number of keys of one account and Region, in any state.
func (v *view) keyCount(account, region string) int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.counts[acctRegion{account, region}]
}

// acctRegion indexes per-account, per-Region counts.
type acctRegion struct{ account, region string }

// aliasesOf returns the aliases of one account and Region.
func (v *view) aliasesOf(account, region string) []*aliasRecord {
	v.mu.RLock()
	defer v.mu.RUnlock()
	prefix := account + "/" + region + "/"
	var out []*aliasRecord
	for idx, a := range v.aliases {
		if strings.HasPrefix(idx, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// aliasKeys returns kms:ResourceAliases for a key as a shared layer of
// condition keys, or nil when it has no alias.
func (v *view) aliasKeys(k *key) policy.Keys {
	names := v.aliasesFor(k)
	if len(names) == 0 {
		return nil
	}
	idx := keyIndex(k.rec.Region, k.rec.ID)
	v.mu.RLock()
	ak := v.aliasLayer[idx]
	v.mu.RUnlock()
	if ak != nil && len(ak["kms:resourcealiases"]) == len(names) {
		return ak
	}
	ak = policy.Keys{"kms:resourcealiases": names}
	v.mu.Lock()
	v.aliasLayer[idx] = ak
	v.mu.Unlock()
	return ak
}

// aliasesFor returns the alias names that point to a key (kms:ResourceAliases).
// The slice is shared: callers must not change it.
func (v *view) aliasesFor(k *key) []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.byKey[keyIndex(k.rec.Region, k.rec.ID)]
}

// KeyCount is the number of keys in this node's view, in every account and
// Region, loaded or not.
func (s *Service) KeyCount() int {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	return s.view.idx.len()
}
