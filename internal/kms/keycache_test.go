package kms

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// restarted is a second service on e's store, loaded but not following
// it: its view stays at the revision it loaded until run is called.
func (e *env) restarted(t *testing.T, o Options) (s *Service, run func()) {
	t.Helper()
	o.Now, o.SweepInterval, o.Principals, o.Organization = e.clock.Now, time.Hour, e.ids, e.ids
	s, err := New(context.Background(), e.st, e.sealer, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() {
		cancel()
		once.Do(func() { close(done) })
		<-done
	})
	return s, func() {
		go func() {
			s.follower.Run(ctx)
			once.Do(func() { close(done) })
		}()
	}
}

func (v *view) loadedKeys() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.keys)
}

// A restarted service loads no key at start; a key is loaded, with its
// material, on its first use, and served from the cache after.
func TestKeysLoadOnFirstUse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var blobs [][]byte
	for range 3 {
		k := e.createKey(t)
		out, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: k.Arn, Plaintext: []byte("kept")})
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, out.CiphertextBlob)
	}
	s2, run := e.restarted(t, Options{})
	run()
	if n := s2.view.loadedKeys(); n != 0 {
		t.Fatalf("%d keys loaded at start, want none", n)
	}
	if n := s2.KeyCount(); n != 3 {
		t.Fatalf("KeyCount %d, want 3", n)
	}
	out, err := s2.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: blobs[1]})
	if err != nil || string(out.Plaintext) != "kept" {
		t.Fatalf("Decrypt with a key not loaded = %v", err)
	}
	if n := s2.view.loadedKeys(); n != 1 {
		t.Fatalf("%d keys loaded after one was used, want 1", n)
	}
	first := s2.view.testKey(e.caller.Region, *out.KeyId)
	if again := s2.view.testKey(e.caller.Region, *out.KeyId); again != first {
		t.Fatal("a loaded key was loaded again")
	}
}

// The cache holds at most KeyCache keys; an evicted key's unsealed
// material is retired, and the key is served again after, loaded anew.
func TestKeyCacheEvictsAndRetiresMaterial(t *testing.T) {
	e := newEnvWith(t, Options{KeyCache: 2})
	ctx := context.Background()
	var ids []string
	var entries []*matEntry
	for range 4 {
		k := e.createKey(t)
		ids = append(ids, *k.KeyId)
		if _, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		e.s.view.mu.RLock()
		es := e.s.view.mats[keyIndex(e.caller.Region, *k.KeyId)]
		e.s.view.mu.RUnlock()
		if len(es) != 1 || es[0].open.Load() == nil {
			t.Fatalf("key %d: material not unsealed after Encrypt", len(ids))
		}
		entries = append(entries, es[0])
		if n := e.s.view.loadedKeys(); n > 2 {
			t.Fatalf("%d keys loaded, want at most 2", n)
		}
	}
	evicted := 0
	for i, id := range ids {
		e.s.view.mu.RLock()
		_, loaded := e.s.view.keys[keyIndex(e.caller.Region, id)]
		_, mats := e.s.view.mats[keyIndex(e.caller.Region, id)]
		e.s.view.mu.RUnlock()
		if loaded {
			continue
		}
		evicted++
		if mats || entries[i].open.Load() != nil {
			t.Fatalf("key %d evicted with its material still unsealed in the view", i)
		}
	}
	if evicted < 2 {
		t.Fatalf("%d keys evicted, want at least 2", evicted)
	}
	for _, id := range ids {
		if _, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: wire.Ptr(id), Plaintext: []byte("x")}); err != nil {
			t.Fatalf("Encrypt with an evicted key: %v", err)
		}
	}
	if n := e.s.KeyCount(); n != 4 {
		t.Fatalf("KeyCount %d, want 4", n)
	}
}

// A load that finds the store ahead of the view waits for the view, and
// never serves the key older than the view or deleted: here the view is
// held at its start while another node rotates one key and deletes
// another.
func TestLazyLoadWaitsForTheView(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rotated, deleted := e.createKey(t).KeyId, e.createKey(t).KeyId
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: deleted, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	s2, run := e.restarted(t, Options{})
	if _, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: rotated}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(8 * 24 * time.Hour)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	cur, err := e.st.Get(ctx, keyPath(e.caller.Account, e.caller.Region, *rotated))
	if err != nil {
		t.Fatal(err)
	}
	// The deleted key is in s2's index still, but not in the store.
	if !s2.view.hasKey(e.caller.Region, *deleted) {
		t.Fatal("the held view does not have the deleted key")
	}
	if k := s2.view.testKey(e.caller.Region, *deleted); k != nil {
		t.Fatal("a load served a key deleted in the store")
	}
	got := make(chan *key, 1)
	go func() { got <- s2.view.testKey(e.caller.Region, *rotated) }()
	run()
	k := <-got
	if k == nil || len(k.rec.Materials) != 2 {
		t.Fatalf("loaded key = %+v, want the rotated key", k)
	}
	if a := s2.follower.Applied(); a < cur.ModRev {
		t.Fatalf("served the key at revision %d while the view was at %d", cur.ModRev, a)
	}
	mid, _ := keys.ParseMaterialID(k.rec.CurrentMaterial)
	if s2.view.material(e.caller.Region, *rotated, mid.String()) == nil {
		t.Fatal("the rotated key's new material did not load")
	}
}

// A load whose key the view saw change after the load read it reads again;
// one that keeps losing is an error, never NotFound, and caches nothing.
func TestLazyLoadNeverServesAnOlderKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createKey(t).KeyId
	s2, run := e.restarted(t, Options{})
	run()
	s2.view.mu.Lock()
	ix, _ := s2.view.idx.get(e.caller.Region, *id)
	ix.rev, ix.indexOnly = 1<<60, false // an applied change the store cannot show yet
	s2.view.idx.set(e.caller.Region, *id, ix)
	s2.view.mu.Unlock()
	if _, err := s2.view.key(e.caller.Region, *id); !errors.Is(err, errKeyChanging) {
		t.Fatalf("load older than the view: %v, want errKeyChanging", err)
	}
	_, err := s2.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("x")})
	if err == nil || code(err) == "NotFoundException" {
		t.Fatalf("Encrypt with a key that did not load = %v (%s), want an internal error", err, code(err))
	}
	if n := s2.view.loadedKeys(); n != 0 {
		t.Fatalf("%d keys loaded, want none", n)
	}
}

// Counts, ListKeys and the sweeps work from the index, loading only the
// keys the sweeps have to change.
func TestIndexServesWalksWithoutLoading(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for range 5 {
		ids = append(ids, *e.createKey(t).KeyId)
	}
	slices.Sort(ids)
	doomed, rotating := ids[1], ids[3]
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: &doomed, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: &rotating, RotationPeriodInDays: wire.Ptr(int32(90))}); err != nil {
		t.Fatal(err)
	}
	s2, run := e.restarted(t, Options{})
	run()
	if n := s2.view.keyCount(e.caller.Account, e.caller.Region); n != 5 {
		t.Fatalf("count %d, want 5", n)
	}
	var listed []string
	var marker *string
	for {
		out, err := s2.ListKeys(ctx, e.caller, &kmsapi.ListKeysRequest{Limit: wire.Ptr(int32(2)), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range out.Keys {
			if !strings.HasSuffix(*k.KeyArn, ":key/"+*k.KeyId) {
				t.Fatalf("entry %s, %s", *k.KeyId, *k.KeyArn)
			}
			listed = append(listed, *k.KeyId)
		}
		if !*out.Truncated {
			break
		}
		marker = out.NextMarker
	}
	if !slices.Equal(listed, ids) {
		t.Fatalf("ListKeys = %v, want %v", listed, ids)
	}
	if n := s2.view.loadedKeys(); n != 0 {
		t.Fatalf("%d keys loaded by counting and listing, want none", n)
	}
	e.clock.Add(100 * 24 * time.Hour)
	if err := s2.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s2.KeyCount(); n != 4 {
		t.Fatalf("KeyCount after the sweep %d, want 4", n)
	}
	if k := s2.view.testKey(e.caller.Region, rotating); k == nil || len(k.rec.Materials) != 2 {
		t.Fatal("the key due for rotation was not rotated")
	}
	if n := s2.view.loadedKeys(); n != 1 {
		t.Fatalf("%d keys loaded after the sweep, want only the rotated one", n)
	}
}

// txnRecorder is a store that keeps every transaction written through it.
type txnRecorder struct {
	store.Store
	mu   sync.Mutex
	txns []store.Txn
}

func (r *txnRecorder) Txn(ctx context.Context, t store.Txn) (int64, error) {
	rev, err := r.Store.Txn(ctx, t)
	if err == nil {
		r.mu.Lock()
		r.txns = append(r.txns, t)
		r.mu.Unlock()
	}
	return rev, err
}

// A material record is deleted only in a transaction that writes or
// deletes its key record: the key record's revision then shows the
// deletion to a lazy load (keycache.go).
func TestMaterialIsDeletedOnlyWithItsKey(t *testing.T) {
	rec := &txnRecorder{}
	e := newEnvOn(t, Options{}, func(st store.Store) store.Store { rec.Store = st; return rec })
	ctx := context.Background()
	ext, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Origin: wire.Ptr("EXTERNAL")})
	if err != nil {
		t.Fatal(err)
	}
	raw := e.importMaterial(t, ext.KeyMetadata.KeyId, nil, nil)
	if _, err := e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: ext.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	e.importMaterial(t, ext.KeyMetadata.KeyId, raw, func(in *kmsapi.ImportKeyMaterialRequest) {
		in.ExpirationModel, in.ValidTo = wire.Ptr(expires), ts(e.clock.Now().Add(48*time.Hour))
	})
	sym := e.createKey(t).KeyId
	if _, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: sym}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []*string{ext.KeyMetadata.KeyId, sym} {
		if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(3 * 24 * time.Hour) // the import expires
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(8 * 24 * time.Hour) // the keys go
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	deletions := 0
	for _, txn := range rec.txns {
		for _, d := range txn.Deletes {
			p, ok := parsePath(d)
			if !ok || p.kind != "material" {
				continue
			}
			deletions++
			kp := keyPath(p.account, p.region, p.id)
			if !slices.Contains(txn.Deletes, kp) && !slices.ContainsFunc(txn.Puts, func(kv store.KV) bool { return kv.Key == kp }) {
				t.Errorf("material %s deleted without a write of its key record", d)
			}
		}
	}
	if deletions < 4 {
		t.Fatalf("%d material deletions seen, want at least 4 (import deleted, expired, two keys deleted)", deletions)
	}
}

// pausingStore holds the second read of one path, after reading it, until
// released: a lazy load is then between its reads and its insert.
type pausingStore struct {
	store.Store
	mu      sync.Mutex
	path    string
	reads   int
	paused  chan struct{} // closed when the read is held
	release chan struct{}
}

func (p *pausingStore) arm(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path, p.reads = path, 0
	p.paused, p.release = make(chan struct{}), make(chan struct{})
}

func (p *pausingStore) Get(ctx context.Context, key string) (store.KV, error) {
	kv, err := p.Store.Get(ctx, key)
	p.mu.Lock()
	hold := key == p.path && p.path != ""
	if hold {
		p.reads++
		hold = p.reads == 2
	}
	paused, release := p.paused, p.release
	p.mu.Unlock()
	if hold {
		close(paused)
		<-release
	}
	return kv, err
}

// A view loaded anew (its watch fell behind a compaction) while a lazy
// load was between reading a key and inserting it makes the load read
// again: the reload's entries do not tell what changed after the read, and
// the load would otherwise insert the key as it was before a change.
func TestLazyLoadAcrossAReloadReadsAgain(t *testing.T) {
	var ps *pausingStore
	e := newEnvOn(t, Options{}, func(st store.Store) store.Store { ps = &pausingStore{Store: st}; return ps })
	ctx := context.Background()
	id := *e.createKey(t).KeyId
	s2, run := e.restarted(t, Options{})
	run()
	ps.arm(keyPath(e.caller.Account, e.caller.Region, id))
	got := make(chan *key, 1)
	go func() {
		k, err := s2.view.key(e.caller.Region, id)
		if err != nil {
			t.Error(err)
		}
		got <- k
	}()
	<-ps.paused
	if _, err := e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	rev, err := e.st.Txn(ctx, store.Txn{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.follower.Wait(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if err := s2.follower.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock()
	ps.path = "" // the load's next reads are not held
	ps.mu.Unlock()
	close(ps.release)
	k := <-got
	if k == nil {
		t.Fatal("the key did not load")
	}
	if k.rec.State != Disabled {
		t.Fatalf("key loaded across a reload is %v, want Disabled", k.rec.State)
	}
}

// Material a request unseals for an entry the view dropped meanwhile (its
// key evicted between the request's lookup and its use) serves that
// request and is retired, not cached again where nothing reaches it.
func TestDroppedMaterialEntryIsNotCachedAgain(t *testing.T) {
	e := newEnv(t)
	id := *e.createKey(t).KeyId
	s2, run := e.restarted(t, Options{})
	run()
	region := e.caller.Region
	k, err := s2.view.key(region, id)
	if err != nil || k == nil {
		t.Fatalf("load: %v", err)
	}
	mid, err := keys.ParseMaterialID(k.rec.CurrentMaterial)
	if err != nil {
		t.Fatal(err)
	}
	me := s2.view.materialEntry(region, id, mid)
	if me == nil {
		t.Fatal("no material entry")
	}
	s2.view.mu.Lock()
	s2.view.dropKey(keyIndex(region, id))
	s2.view.mu.Unlock()
	before := s2.view.cache.size()
	m, err := s2.openMaterial(me.account, region, id, mid.String(), me.rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.view.cache.add(me, m); got != m {
		t.Fatal("the request did not get the material it unsealed")
	}
	if me.open.Load() != nil || s2.view.cache.size() != before {
		t.Fatalf("material of a dropped entry cached again: open %v, cache %d → %d", me.open.Load() != nil, before, s2.view.cache.size())
	}
}
