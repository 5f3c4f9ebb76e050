package seal

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// The keyring
//
// The root key has versions. The store's RootKey record holds the newest
// wrapped by the seal and the older ones sealed under the newest, so a node
// that starts unwraps one key with its seal and opens the rest. A Sealer
// holds them all: Seal uses the newest; Open the version a blob names
// (seal.go), found by index.
//
// Rotate (rotate.go) adds a version. A node that is running learns it
// without its seal, whose secrets it forgot after unsealing: the record's
// Link is the new version sealed under the one that was newest before it,
// which every running node holds. Follow watches the record and adds what
// it links; and since a node may see a record sealed under the new version
// (another watch, a request) before it sees the keyring change, Open asks
// Follow to read the keyring when a blob names a version newer than any it
// holds. When Rotate retires versions, Follow drops them too.

// Follow keeps s's keyring the store's until ctx ends: it adds the versions
// another node's rotation made and drops those it retired. A version it
// cannot open (this node missed the link: it was down while a rotation
// both began and retired the version before it) is logged; a restart
// unseals the keyring with the seal. It returns when ctx ends.
func (s *Sealer) Follow(ctx context.Context, st store.Store, log *slog.Logger) {
	f := &follower{s: s, st: st, log: log}
	learn := f.learn
	s.learn.Store(&learn)
	defer s.learn.Store(nil)
	for ctx.Err() == nil {
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("seal: following the root key record", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

type follower struct {
	s   *Sealer
	st  store.Store
	log *slog.Logger

	mu   sync.Mutex // one read of the keyring at a time
	last time.Time  // of the last read learn made, which found nothing
}

func (f *follower) follow(ctx context.Context) error {
	kvs, rev, err := f.st.Range(ctx, RootKey)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if kv.Key == RootKey {
			f.apply(kv.Value)
		}
	}
	for resp := range f.st.Watch(ctx, RootKey, rev) {
		if resp.Err != nil {
			return resp.Err
		}
		for _, e := range resp.Events {
			if e.KV.Key == RootKey && e.Type == store.Put {
				f.apply(e.KV.Value)
			}
		}
	}
	return ctx.Err()
}

func (f *follower) apply(b []byte) {
	rec, err := parseRoot(b)
	if err == nil {
		f.mu.Lock()
		err = f.s.sync(rec)
		f.mu.Unlock()
	}
	if err != nil {
		f.log.Error("seal: the root key record changed and this node cannot follow it; restart it to unseal the keyring with its seal", "err", err)
	}
}

// learn reads the keyring for a blob under version v, newer than any s
// holds. A blob naming a version no rotation made (tampering) must not make
// every Open read the store: after a read that did not find it, others
// wait a second.
func (f *follower) learn(v uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.s.Holds(v) {
		return nil
	}
	if time.Since(f.last) < time.Second {
		return errVersion
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, _, err := readRoot(ctx, f.st)
	if err == nil {
		err = f.s.sync(rec)
	}
	if err == nil && !f.s.Holds(v) {
		err = errVersion
	}
	if err != nil {
		f.last = time.Now()
	}
	return err
}

// sync makes s hold the versions of rec: the newest through its link (or,
// if s holds it already, nothing), then the older ones through the newest;
// versions rec no longer has are retired.
func (s *Sealer) sync(rec rootRecord) error {
	if !s.Holds(rec.Version) {
		if rec.Link == nil {
			return fmt.Errorf("seal: root key version %d has no link to a version this node holds", rec.Version)
		}
		k, err := s.ring.Load().open(rec.Link, linkAD(rec.Version))
		if err != nil {
			return fmt.Errorf("seal: root key version %d is linked from a version this node does not hold", rec.Version)
		}
		err = s.add(rec.Version, k)
		clear(k)
		if err != nil {
			return err
		}
	}
	if err := s.addOlder(rec); err != nil {
		return err
	}
	keep := map[uint32]bool{rec.Version: true}
	for _, o := range rec.Older {
		keep[o.Version] = true
	}
	s.retire(func(v uint32) bool { return keep[v] })
	return nil
}

// VersionInfo describes one version of the root key.
type VersionInfo struct {
	Version    uint32
	Created    time.Time
	Superseded time.Time `json:",omitzero"` // zero for the newest
}

// Keyring describes the store's root key versions, newest first.
type Keyring struct {
	Seal     Kind
	Versions []VersionInfo
}

// ReadKeyring describes the store's root key versions without unwrapping
// any.
func ReadKeyring(ctx context.Context, st store.Store) (Keyring, error) {
	rec, _, err := readRoot(ctx, st)
	if err != nil {
		return Keyring{}, err
	}
	k, err := ParseKind(rec.Seal)
	if err != nil {
		return Keyring{}, err
	}
	out := Keyring{Seal: k, Versions: []VersionInfo{{Version: rec.Version, Created: rec.Created}}}
	for i := len(rec.Older) - 1; i >= 0; i-- {
		o := rec.Older[i]
		out.Versions = append(out.Versions, VersionInfo{Version: o.Version, Created: o.Created, Superseded: o.Superseded})
	}
	return out, nil
}
