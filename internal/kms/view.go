package kms

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
)

// view is this node's in-memory copy of every KMS record, kept current by a
// store.Follower. Entries are immutable once published: a change replaces the
// *key, so a request that looked one up sees a consistent key to the end.
type view struct {
	s *Service

	mu      sync.RWMutex
	keys    map[string]*key                     // region/keyID
	mats    map[string]map[string]keys.Material // region/keyID → material id → material
	aliases map[string]*aliasRecord             // account/region/alias name
	byKey   map[string][]string                 // region/keyID → names of its aliases
	grants  map[string][]*grant                 // region/keyID → its grants
	tokens  map[string]*grant                   // grant token → grant
	// authzGrants is grants as authorization takes them, shared read-only.
	authzGrants map[string][]*authz.Grant
	// aliasLayer caches kms:ResourceAliases per key; unindexAlias and
	// alias puts drop the entry.
	aliasLayer map[string]policy.Keys
	// Custom key stores (customkeystores.go): records by region/id, and
	// this node's connections, which outlive record changes.
	stores map[string]*keyStoreRecord
	conns  map[string]*cksConn
	// family indexes multi-Region keys by account/key id → Region → key,
	// so DescribeKey and family writes find the members without a scan.
	family map[string]map[string]*key
	// policies shares compiled key policies among the keys whose document
	// and bindings are the same: most keys have the default policy, which
	// names only the account and so binds nothing.
	policies map[string]*sharedPolicy
}

// sharedPolicy is a compiled key policy and the number of keys using it.
type sharedPolicy struct {
	p    *policy.Policy
	refs int
}

// key is one KMS key as the view holds it.
type key struct {
	rec    keyRecord
	arn    string
	modRev int64
	// policy is the compiled key policy; nil if it does not compile, which
	// denies every request (checked documents always compile). policyKey is
	// its entry in view.policies.
	policy    *policy.Policy
	policyKey string

	keysOnce sync.Once
	keys     policy.Keys

	// cks is the connection of the custom key store the key is in, if any.
	cks *cksConn
}

func newView(s *Service) *view {
	return &view{s: s, keys: map[string]*key{}, mats: map[string]map[string]keys.Material{}, aliases: map[string]*aliasRecord{}, byKey: map[string][]string{}, grants: map[string][]*grant{}, tokens: map[string]*grant{}, authzGrants: map[string][]*authz.Grant{}, aliasLayer: map[string]policy.Keys{}, stores: map[string]*keyStoreRecord{}, conns: map[string]*cksConn{}, family: map[string]map[string]*key{}, policies: map[string]*sharedPolicy{}}
}

func keyIndex(region, id string) string { return region + "/" + id }

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
	v.keys = map[string]*key{}
	v.mats = map[string]map[string]keys.Material{}
	v.aliases = map[string]*aliasRecord{}
	v.byKey = map[string][]string{}
	v.grants = map[string][]*grant{}
	v.tokens = map[string]*grant{}
	v.authzGrants = map[string][]*authz.Grant{}
	v.aliasLayer = map[string]policy.Keys{}
	v.stores = map[string]*keyStoreRecord{}
	v.family = map[string]map[string]*key{}
	v.policies = map[string]*sharedPolicy{}
	for _, kv := range kvs {
		v.put(kv)
	}
}

func (v *view) Apply(resp store.WatchResponse) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range resp.Events {
		if e.Type == store.Delete {
			v.delete(e.KV.Key)
		} else {
			v.put(e.KV)
		}
	}
}

func (v *view) put(kv store.KV) {
	p, ok := parsePath(kv.Key)
	if !ok {
		return
	}
	switch p.kind {
	case "keys":
		var rec keyRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			v.s.log.Error("kms: undecodable key record", "key", kv.Key, "err", err)
			return
		}
		k := &key{rec: rec, arn: arn.KeyARN(rec.Region, rec.Account, rec.ID), modRev: kv.ModRev}
		v.acquirePolicy(k)
		if rec.CustomKeyStoreID != "" {
			k.cks = v.connLocked(p.region, rec.CustomKeyStoreID)
		}
		if old := v.keys[keyIndex(p.region, p.id)]; old != nil {
			v.releasePolicy(old)
		}
		v.keys[keyIndex(p.region, p.id)] = k
		if rec.multiRegion() {
			fi := familyIndex(rec.Account, rec.ID)
			if v.family[fi] == nil {
				v.family[fi] = map[string]*key{}
			}
			v.family[fi][p.region] = k
		}
	case "material":
		var rec materialRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			v.s.log.Error("kms: undecodable material record", "key", kv.Key, "err", err)
			return
		}
		m, err := v.s.openMaterial(p.account, p.region, p.id, p.sub, rec)
		if err != nil {
			v.s.log.Error("kms: key material does not open", "key", kv.Key, "err", err)
			return
		}
		idx := keyIndex(p.region, p.id)
		if v.mats[idx] == nil {
			v.mats[idx] = map[string]keys.Material{}
		}
		v.mats[idx][p.sub] = m
	case "grants":
		v.putGrant(p.region, p.id, kv)
	case "keystores":
		v.putKeyStore(p, kv)
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

// acquirePolicy gives k its compiled policy, shared with the keys that have
// the same document and bindings; v.mu is held.
func (v *view) acquirePolicy(k *key) {
	k.policyKey = policyCacheKey(k.rec.Policy, k.rec.PolicyBindings)
	if sp := v.policies[k.policyKey]; sp != nil {
		sp.refs++
		k.policy = sp.p
		return
	}
	p, err := compileKeyPolicy(k.rec.Policy, k.rec.PolicyBindings)
	if err != nil {
		v.s.log.Error("kms: stored key policy does not compile; the key denies every request", "key", k.arn, "err", err)
	}
	v.policies[k.policyKey] = &sharedPolicy{p: p, refs: 1}
	k.policy = p
}

// releasePolicy drops a replaced or deleted key's use of its compiled policy.
func (v *view) releasePolicy(k *key) {
	if sp := v.policies[k.policyKey]; sp != nil {
		if sp.refs--; sp.refs <= 0 {
			delete(v.policies, k.policyKey)
		}
	}
}

// policyCacheKey identifies a document with its bindings: documents that
// bind nothing share their entry whatever keys they belong to.
func policyCacheKey(doc string, bindings map[string]string) string {
	if len(bindings) == 0 {
		return doc
	}
	names := make([]string, 0, len(bindings))
	for n := range bindings {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(doc)
	for _, n := range names {
		// NUL cannot appear in a policy document or an ARN.
		b.WriteString("\x00" + n + "\x00" + bindings[n])
	}
	return b.String()
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
	p, ok := parsePath(k)
	if !ok {
		return
	}
	switch p.kind {
	case "keys":
		if old := v.keys[keyIndex(p.region, p.id)]; old != nil {
			v.releasePolicy(old)
		}
		delete(v.keys, keyIndex(p.region, p.id))
		fi := familyIndex(p.account, p.id)
		if f := v.family[fi]; f != nil {
			delete(f, p.region)
			if len(f) == 0 {
				delete(v.family, fi)
			}
		}
	case "material":
		idx := keyIndex(p.region, p.id)
		if m := v.mats[idx][p.sub]; m != nil {
			m.Destroy()
			delete(v.mats[idx], p.sub)
			if len(v.mats[idx]) == 0 {
				delete(v.mats, idx)
			}
		}
	case "grants":
		v.deleteGrant(p.region, p.id, p.sub)
	case "keystores":
		v.deleteKeyStore(p)
	case "aliases":
		idx := aliasIndex(p.account, p.region, p.id)
		if old := v.aliases[idx]; old != nil {
			v.unindexAlias(p.region, old)
		}
		delete(v.aliases, idx)
	}
}

func (v *view) key(region, id string) *key {
	v.mu.RLock()
	k := v.keys[keyIndex(region, id)]
	v.mu.RUnlock()
	return k
}

func familyIndex(account, id string) string { return account + "/" + id }

// familyOf returns the members of k's multi-Region key by Region, or just k
// for a single-Region key. The map is a copy.
func (v *view) familyOf(k *key) map[string]*key {
	if !k.rec.multiRegion() {
		if cur := v.key(k.rec.Region, k.rec.ID); cur != nil {
			return map[string]*key{cur.rec.Region: cur}
		}
		return map[string]*key{}
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := map[string]*key{}
	for region, m := range v.family[familyIndex(k.rec.Account, k.rec.ID)] {
		out[region] = m
	}
	return out
}

// multiRegionKeys returns every multi-Region key of an account.
func (v *view) multiRegionKeys(account string) []*key {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []*key
	for _, f := range v.family {
		for _, k := range f {
			if k.rec.Account == account {
				out = append(out, k)
			}
		}
	}
	return out
}

func (v *view) material(region, id, materialID string) keys.Material {
	v.mu.RLock()
	m := v.mats[keyIndex(region, id)][materialID]
	v.mu.RUnlock()
	return m
}

func (v *view) alias(account, region, name string) *aliasRecord {
	v.mu.RLock()
	a := v.aliases[aliasIndex(account, region, name)]
	v.mu.RUnlock()
	return a
}

// keysOf returns the keys of one account and Region.
func (v *view) keysOf(account, region string) []*key {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []*key
	for _, k := range v.keys {
		if k.rec.Account == account && k.rec.Region == region {
			out = append(out, k)
		}
	}
	return out
}

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

// allKeys returns every key, for the background sweeps.
func (v *view) allKeys() []*key {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*key, 0, len(v.keys))
	for _, k := range v.keys {
		out = append(out, k)
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

// KeyCount is the number of keys this node holds, in every account and Region.
func (s *Service) KeyCount() int {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	return len(s.view.keys)
}
