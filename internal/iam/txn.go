package iam

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// Every IAM, STS and Organizations write whose checks read other records
// (quotas, existence, what still uses an entity) runs as one tx: its checks
// read a consistent snapshot of the in-memory view, every record read is
// remembered with the revision it had, and the write commits only if none
// of them changed since (a store compare on each). A concurrent writer of
// anything a decision read makes the transaction conflict; it then catches
// up with the store and decides again.
//
// A decision about a set of records (a user's access keys, a group's
// members, what attaches a policy) reads the record that guards the set,
// and every write that grows the set rewrites that guard, so the two
// conflict:
//
//	set                               guard                 grown by
//	a user's access keys              the user              CreateAccessKey
//	the root user's access keys       the account           CreateAccessKey
//	a group's members                 the group             AddUserToGroup
//	a customer policy's holders       the policy            attaching it, making it a boundary
//	the organization's accounts       the organization      CreateAccount
//
// Shrinking a set never invalidates a decision (no key, no member, no
// holder), so removals need not rewrite the guard.

// maxTxnAttempts bounds the retries of a transaction that keeps conflicting.
const maxTxnAttempts = 8

// errTooManyConflicts is returned when a transaction kept conflicting.
var errTooManyConflicts = errors.New("iam: the transaction kept conflicting")

// tx is one optimistic transaction over the identity view.
type tx struct {
	v     *view
	reads map[string]int64 // store key → ModRev it had when read (0: absent)
	puts  []store.KV
	dels  []string
}

// read notes that the transaction's outcome depends on key as it is now.
func (t *tx) read(key string) {
	if _, ok := t.reads[key]; !ok {
		t.reads[key] = t.v.revs[key]
	}
}

// put writes v (JSON) at key when the transaction commits.
func (t *tx) put(key string, v any) {
	t.read(key)
	t.puts = append(t.puts, store.KV{Key: key, Value: mustJSON(v)})
}

// del deletes key when the transaction commits.
func (t *tx) del(key string) {
	t.read(key)
	t.dels = append(t.dels, key)
}

func (t *tx) deletes(key string) bool {
	for _, k := range t.dels {
		if k == key {
			return true
		}
	}
	return false
}

func (t *tx) user(account, name string) *User {
	t.read(entityKey(account, userKind, name))
	return t.v.users[entityIndex(account, name)]
}

func (t *tx) group(account, name string) *Group {
	t.read(entityKey(account, groupKind, name))
	return t.v.groups[entityIndex(account, name)]
}

func (t *tx) role(account, name string) *Role {
	t.read(entityKey(account, roleKind, name))
	return t.v.roles[entityIndex(account, name)]
}

func (t *tx) account(id string) *Account {
	t.read(accountKey(id))
	return t.v.accounts[id]
}

func (t *tx) org() *Organization {
	t.read(orgKey)
	return t.v.org
}

func (t *tx) accessKey(id string) *accessKeyRecord {
	t.read(accessKeysPrefix + id)
	return t.v.keys[id]
}

// entity reads the user, group, role or customer managed policy of a kind.
func txEntity[T any](t *tx, account string, kind entityKind, name string) *T {
	t.read(entityKey(account, kind, name))
	idx := entityIndex(account, name)
	var rec any
	switch kind {
	case userKind:
		rec = t.v.users[idx]
	case groupKind:
		rec = t.v.groups[idx]
	case roleKind:
		rec = t.v.roles[idx]
	case policyKind:
		rec = t.v.policies[idx]
	}
	p, _ := rec.(*T)
	return p
}

// keysOf returns the access keys of a user ("" for root), guarded by the
// user's (or the account's) record.
func (t *tx) keysOf(account, user string) []*accessKeyRecord {
	if user == "" {
		t.read(accountKey(account))
	} else {
		t.read(entityKey(account, userKind, user))
	}
	var out []*accessKeyRecord
	for _, k := range t.v.keys {
		if k.Account == account && k.Service == "" && equalFoldOrEmpty(k.UserName, user) {
			out = append(out, k)
		}
	}
	return out
}

// members returns the users in a group, guarded by the group's record.
func (t *tx) members(account, group string) []*User {
	t.read(entityKey(account, groupKind, group))
	var out []*User
	for idx, u := range t.v.users {
		if !strings.HasPrefix(idx, account+"/") {
			continue
		}
		for _, g := range u.Groups {
			if strings.EqualFold(g, group) {
				out = append(out, u)
			}
		}
	}
	return out
}

// customerPolicy returns the customer managed policy of account an ARN
// names, or nil (for a policy that does not exist, or an AWS managed one).
func (t *tx) customerPolicy(account, policyARN string) *ManagedPolicy {
	name, ok := customerPolicyName(account, policyARN)
	if !ok {
		return nil
	}
	mp := txEntity[ManagedPolicy](t, account, policyKind, name)
	if mp == nil || PolicyARN(account, mp.Path, mp.Name) != policyARN {
		return nil
	}
	return mp
}

// holdPolicy checks that a managed policy an entity is about to attach or
// take as its boundary exists, and for a customer policy rewrites it, its
// holders' guard, so a concurrent DeletePolicy conflicts.
func (t *tx) holdPolicy(account, policyARN string) bool {
	if awsManaged(policyARN) != nil {
		return true // AWS managed policies are never deleted
	}
	mp := t.customerPolicy(account, policyARN)
	if mp == nil {
		return false
	}
	t.put(entityKey(account, policyKind, mp.Name), mp)
	return true
}

// holders counts the users, groups and roles of account that attach a
// policy and those that use it as their boundary; for a customer policy its
// record guards the count (holdPolicy).
func (t *tx) holders(account, policyARN string) (attached, boundary int32) {
	if name, ok := customerPolicyName(account, policyARN); ok {
		t.read(entityKey(account, policyKind, name))
	}
	return t.v.holders(account, policyARN)
}

// atomically runs fn on a snapshot of the view and commits what it wrote,
// conditional on everything it read. fn runs under the view's read lock: it
// must read only through t and must not call anything that takes d.mu, do
// I/O or block.
func (d *Directory) atomically(ctx context.Context, fn func(t *tx) error) error {
	for attempt := 0; attempt < maxTxnAttempts; attempt++ {
		d.mu.RLock()
		t := &tx{v: d.v, reads: map[string]int64{}}
		err := fn(t)
		d.mu.RUnlock()
		txn := store.Txn{Puts: t.puts, Deletes: t.dels}
		for k, rev := range t.reads {
			txn.Compares = append(txn.Compares, store.Compare{Key: k, ModRev: rev})
		}
		if err != nil || len(txn.Puts)+len(txn.Deletes) == 0 {
			// A refusal (no such entity, a quota reached, in use) is a
			// decision too: it stands only if what it read is still current,
			// which a view behind the store (another node's write) may not
			// be. Check, and decide again if not.
			if len(txn.Compares) == 0 {
				return err
			}
			txn.Puts, txn.Deletes = nil, nil
			if _, cerr := d.st.Txn(ctx, txn); !errors.Is(cerr, store.ErrConflict) {
				return err
			}
		} else if err = d.commit(ctx, txn); !errors.Is(err, store.ErrConflict) {
			return err
		}
		// Something read changed: this node's view was behind the store,
		// or another writer won. Catch up with the store, then decide again.
		if err := d.catchUp(ctx); err != nil {
			return err
		}
	}
	return errTooManyConflicts
}

// concurrentModification is IAM's answer when a transaction kept
// conflicting.
func concurrentModification(err error) error {
	if errors.Is(err, errTooManyConflicts) {
		return iamapi.NewConcurrentModificationException("The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.")
	}
	return err
}

// clone returns a deep copy of a record of the view, which is shared and
// never changed in place.
func clone[T any](v *T) *T {
	c := new(T)
	if err := json.Unmarshal(mustJSON(v), c); err != nil {
		panic("iam: clone: " + err.Error())
	}
	return c
}

// holdBoundary is holdPolicy for a permissions boundary, answering IAM's
// error for one that does not exist.
func (t *tx) holdBoundary(account, policyARN string) error {
	if !t.holdPolicy(account, policyARN) {
		return iamapi.NewNoSuchEntityException("Scope ARN: " + policyARN + " does not exist or is not attachable.")
	}
	return nil
}

// holdingBoundary is the check of a new user's or role's boundary, if any.
func holdingBoundary(account, policyARN string) func(*tx) error {
	return func(t *tx) error {
		if policyARN == "" {
			return nil
		}
		return t.holdBoundary(account, policyARN)
	}
}

// catchUp waits until the view shows everything the store has now: after a
// conflict, what the next attempt reads is then at least as new as what
// made it conflict.
func (d *Directory) catchUp(ctx context.Context) error {
	rev, err := d.st.Txn(ctx, store.Txn{})
	if err != nil {
		return err
	}
	return d.follower.Wait(ctx, rev)
}

// roleAt returns a role with the revision of its record, read together.
func (d *Directory) roleAt(account, name string) (*Role, int64) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	r := d.v.roles[entityIndex(account, name)]
	if r == nil {
		return nil, 0
	}
	return r, d.v.revs[entityKey(account, roleKind, r.Name)]
}

// callerAt is the compare that holds while the user (or, for root, the
// account) behind an identity is still the one it was resolved from; false
// if it is gone or is now another entity of the same name.
func (d *Directory) callerAt(id *authz.Identity) (store.Compare, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch id.Type {
	case authz.UserType:
		u := d.v.users[entityIndex(id.Account, id.Name)]
		if u == nil || u.ID != id.UserID {
			return store.Compare{}, false
		}
		key := entityKey(id.Account, userKind, u.Name)
		return store.Compare{Key: key, ModRev: d.v.revs[key]}, true
	case authz.RootType:
		key := accountKey(id.Account)
		if d.v.accounts[id.Account] == nil {
			return store.Compare{}, false
		}
		return store.Compare{Key: key, ModRev: d.v.revs[key]}, true
	}
	return store.Compare{}, false
}
