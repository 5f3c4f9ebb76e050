package iam

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/trentkms/trent/internal/store"
)

// view is the in-memory copy of every identity record. Records are replaced,
// never changed in place, so a pointer read under the lock stays consistent.
type view struct {
	accounts map[string]*Account
	org      *Organization
	users    map[string]*User // account/lower(name)
	groups   map[string]*Group
	roles    map[string]*Role
	policies map[string]*ManagedPolicy
	keys     map[string]*accessKeyRecord
	sessions map[string]*sessionRecord
	// Federation records (federation.go): identity providers and MFA
	// devices, by account/<name>; nil until one is applied.
	fed *fedView
	// The organization's units, policies and account placements
	// (orgrecords.go); nil until one is applied.
	orgs *orgView
	// revs is the ModRev of every identity record by store key: what a
	// transaction compares on (tx).
	revs map[string]int64
}

func newView() *view {
	return &view{
		accounts: map[string]*Account{}, users: map[string]*User{}, groups: map[string]*Group{},
		roles: map[string]*Role{}, policies: map[string]*ManagedPolicy{},
		keys: map[string]*accessKeyRecord{}, sessions: map[string]*sessionRecord{}, revs: map[string]int64{},
	}
}

// setRev records the revision of an identity record (0: deleted).
func (v *view) setRev(key string, modRev int64) {
	if modRev == 0 {
		delete(v.revs, key)
		return
	}
	v.revs[key] = modRev
}

func entityIndex(account, name string) string { return account + "/" + strings.ToLower(name) }

// apply puts (value non-nil) or deletes (value nil) one record.
func (v *view) apply(key string, value []byte) error {
	switch {
	case key == orgKey:
		if value == nil {
			v.org = nil
			return nil
		}
		var o Organization
		if err := json.Unmarshal(value, &o); err != nil {
			return err
		}
		v.org = &o
	case strings.HasPrefix(key, orgPrefix):
		return v.applyOrg(key, value)
	case strings.HasPrefix(key, accessKeysPrefix):
		id := strings.TrimPrefix(key, accessKeysPrefix)
		return put(v.keys, id, value)
	case strings.HasPrefix(key, sessionsPrefix):
		id := strings.TrimPrefix(key, sessionsPrefix)
		return put(v.sessions, id, value)
	case strings.HasPrefix(key, accountsPrefix):
		// acct/<id>/account or acct/<id>/iam/<kind>/<name>
		parts := strings.SplitN(strings.TrimPrefix(key, accountsPrefix), "/", 4)
		switch {
		case len(parts) == 2 && parts[1] == "account":
			return put(v.accounts, parts[0], value)
		case len(parts) == 4 && parts[1] == "iam":
			idx := parts[0] + "/" + parts[3]
			switch parts[2] {
			case "users":
				return put(v.users, idx, value)
			case "groups":
				return put(v.groups, idx, value)
			case "roles":
				return put(v.roles, idx, value)
			case "policies":
				return put(v.policies, idx, value)
			default:
				return v.applyFederation(parts[2], parts[0]+"/"+parts[3], value)
			}
		}
	}
	return nil
}

func put[T any](m map[string]*T, k string, value []byte) error {
	if value == nil {
		delete(m, k)
		return nil
	}
	r := new(T)
	if err := json.Unmarshal(value, r); err != nil {
		return err
	}
	m[k] = r
	return nil
}

// handler adapts the Directory to store.Handler.
type handler struct{ d *Directory }

func (h handler) Reset(kvs []store.KV, _ int64) {
	v := newView()
	for _, kv := range kvs {
		if !isIdentityKey(kv.Key) {
			continue
		}
		if err := v.apply(kv.Key, kv.Value); err != nil {
			h.d.log.Error("iam: undecodable record", "key", kv.Key, "err", err)
		}
		v.setRev(kv.Key, kv.ModRev)
	}
	h.d.mu.Lock()
	h.d.v = v
	h.d.gen++
	h.d.mu.Unlock()
}

func (h handler) Apply(resp store.WatchResponse) {
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	changed := false
	for _, e := range resp.Events {
		if !isIdentityKey(e.KV.Key) {
			continue
		}
		val, rev := e.KV.Value, e.KV.ModRev
		if e.Type == store.Delete {
			val, rev = nil, 0
		}
		if err := h.d.v.apply(e.KV.Key, val); err != nil {
			h.d.log.Error("iam: undecodable record", "key", e.KV.Key, "err", err)
		}
		h.d.v.setRev(e.KV.Key, rev)
		changed = true
	}
	if changed {
		h.d.gen++
	}
}

// Keep tells the follower's load which records the identity view reads:
// it follows the whole store, and skipping every KMS key's records
// unread is most of a large store's load (store.Filter).
func (h handler) Keep(k []byte) bool { return isIdentityKey(string(k)) }

// Skip passes over the rest of an account's subtree that Keep refuses from
// k on, such as acct/<account>/kms/: a load then reads none of the pages
// of the KMS keys (store.Skipper), which at 1,000,000 keys were seconds of
// the start.
func (h handler) Skip(k []byte) []byte {
	rest, ok := bytes.CutPrefix(k, []byte(accountsPrefix))
	if !ok {
		return nil
	}
	i := bytes.IndexByte(rest, '/')
	if i <= 0 {
		return nil
	}
	sub := rest[i+1:]
	j := bytes.IndexByte(sub, '/')
	if j <= 0 || string(sub[:j]) == "iam" {
		return nil
	}
	// Every key under acct/<account>/<sub>/ is refused; '0' follows '/'.
	next := append([]byte(nil), k[:len(accountsPrefix)+i+1+j]...)
	return append(next, '0')
}

func isIdentityKey(k string) bool {
	if strings.HasPrefix(k, accountsPrefix) {
		rest := strings.TrimPrefix(k, accountsPrefix)
		i := strings.IndexByte(rest, '/')
		return i > 0 && (rest[i+1:] == "account" || strings.HasPrefix(rest[i+1:], "iam/"))
	}
	return strings.HasPrefix(k, orgPrefix) || strings.HasPrefix(k, accessKeysPrefix) || strings.HasPrefix(k, sessionsPrefix)
}

// holders counts the users, groups and roles of account that attach a
// policy, and those that use it as their permissions boundary.
func (v *view) holders(account, policyARN string) (attached, boundary int32) {
	count := func(idx string, att []string, b string) {
		if !strings.HasPrefix(idx, account+"/") {
			return
		}
		for _, a := range att {
			if a == policyARN {
				attached++
			}
		}
		if b == policyARN {
			boundary++
		}
	}
	for idx, u := range v.users {
		count(idx, u.Attached, u.Boundary)
	}
	for idx, g := range v.groups {
		count(idx, g.Attached, "")
	}
	for idx, r := range v.roles {
		count(idx, r.Attached, r.Boundary)
	}
	return attached, boundary
}
