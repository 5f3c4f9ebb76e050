package kms

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// olderKey is what an older Trent's CreateKey writes: a key record with its
// policy inline and its material, without an index record.
func olderKey(t *testing.T, s *Service, account, region string) (keyRecord, store.Txn) {
	t.Helper()
	id, err := s.newKeyID()
	if err != nil {
		t.Fatal(err)
	}
	m, mkv, err := s.newMaterial(account, region, id, keys.SpecSymmetricDefault, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := keyRecord{ID: id, Account: account, Region: region, Created: stampOf(s.now()), State: Enabled,
		Usage: keys.UsageEncryptDecrypt, Spec: keys.SpecSymmetricDefault, Origin: originAWSKMS,
		Policy: DefaultPolicy(account), CurrentMaterial: m.ID, Materials: []material{m}}
	return rec, store.Txn{Puts: []store.KV{{Key: keyPath(account, region, id), Value: marshal(rec)}, mkv}}
}

// olderWrite commits t to st, as an older Trent does, and waits until s's
// view has it.
func olderWrite(t *testing.T, s *Service, st store.Store, txn store.Txn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := st.Txn(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.follower.Wait(ctx, rev); err != nil {
		t.Fatal(err)
	}
}

// storedIndex waits until the index record of a key in st is at least as
// new as its key record, or gone with it, and returns it (ok false: gone).
// The repair is asynchronous; nothing here depends on how long it takes.
func storedIndex(t *testing.T, st store.Store, account, region, id string) (indexRecord, bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		kv, kerr := st.Get(ctx, keyPath(account, region, id))
		ix, ierr := st.Get(ctx, keyIndexPath(account, region, id))
		switch {
		case kerr != nil && !errors.Is(kerr, store.ErrNotFound):
			t.Fatal(kerr)
		case ierr != nil && !errors.Is(ierr, store.ErrNotFound):
			t.Fatal(ierr)
		case kerr != nil && ierr != nil:
			return indexRecord{}, false
		case kerr == nil && ierr == nil && ix.ModRev >= kv.ModRev:
			rec, err := decodeIndexRecord(ix.Value)
			if err != nil {
				t.Fatal(err)
			}
			return rec, true
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index record of key %s was never repaired (key record: %v, index record: %v)", id, kerr, ierr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listed(t *testing.T, s *Service, c Caller, id string) bool {
	t.Helper()
	out, err := s.ListKeys(context.Background(), c, &kmsapi.ListKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(out.Keys, func(k kmsapi.KeyListEntry) bool { return *k.KeyId == id })
}

// A key an older Trent creates while this node runs, without an index
// record, is served, listed and counted at once, gets its index record in
// the store, and is still there after a restart.
func TestOlderTrentKeyIsIndexed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createKey(t)
	rec, txn := olderKey(t, e.s, e.caller.Account, e.caller.Region)
	olderWrite(t, e.s, e.st, txn)
	enc, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: &rec.ID, Plaintext: []byte("older")})
	if err != nil {
		t.Fatalf("Encrypt under the older Trent's key: %v", err)
	}
	if _, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: &rec.ID}); err != nil {
		t.Fatalf("DescribeKey of the older Trent's key: %v", err)
	}
	if !listed(t, e.s, e.caller, rec.ID) {
		t.Fatal("ListKeys leaves out the older Trent's key")
	}
	if n := e.s.view.keyCount(e.caller.Account, e.caller.Region); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
	if ix, ok := storedIndex(t, e.st, e.caller.Account, e.caller.Region, rec.ID); !ok || ix != indexOf(&rec) {
		t.Fatalf("stored index record %+v, %v; want %+v", ix, ok, indexOf(&rec))
	}
	s2, err := New(ctx, e.st, e.sealer, Options{Now: e.clock.Now, Principals: e.ids, Organization: e.ids})
	if err != nil {
		t.Fatal(err)
	}
	if n := s2.KeyCount(); n != 2 {
		t.Fatalf("restart counts %d keys, want 2", n)
	}
	dec, err := s2.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "older" {
		t.Fatalf("Decrypt after a restart: %v", err)
	}
}

// An older Trent's update of a key (its deletion or rotation schedule)
// re-indexes the key, in memory and in the store, so the sweeps act on it;
// the node holds one key loaded and not the other.
func TestOlderTrentUpdateIsReindexed(t *testing.T) {
	e := newEnvWith(t, Options{KeyCache: 1})
	ctx := context.Background()
	del, rot := e.createKey(t), e.createKey(t)
	now := e.clock.Now()
	// Loading rot last evicts del.
	recs := []keyRecord{e.s.view.testKey(e.caller.Region, *del.KeyId).rec, e.s.view.testKey(e.caller.Region, *rot.KeyId).rec}
	if e.s.view.loadedKeys() != 1 {
		t.Fatalf("%d keys loaded, want 1", e.s.view.loadedKeys())
	}
	for _, rec := range recs {
		id := rec.ID
		if id == *del.KeyId {
			rec.State, rec.DeletionDate, rec.PendingWindow = PendingDeletion, stampOf(now.Add(7*24*time.Hour)), 7
		} else {
			rec.RotationEnabled, rec.RotationPeriod, rec.NextRotation = true, 365, stampOf(now.Add(24*time.Hour))
		}
		rec.Policy = "" // stored by its reference
		olderWrite(t, e.s, e.st, store.Txn{Puts: []store.KV{{Key: keyPath(rec.Account, rec.Region, rec.ID), Value: marshal(rec)}}})
		if ix, ok := storedIndex(t, e.st, e.caller.Account, e.caller.Region, id); !ok || ix.Due == 0 {
			t.Fatalf("stored index record of %s %+v, %v: not due", id, ix, ok)
		}
	}
	e.clock.Add(8 * 24 * time.Hour)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: del.KeyId}); code(err) != "NotFoundException" {
		t.Fatalf("DescribeKey of a key past its deletion date: %v", err)
	}
	if k := e.s.view.testKey(e.caller.Region, *rot.KeyId); k == nil || len(k.rec.Materials) != 2 {
		t.Fatal("the key due for rotation did not rotate")
	}
}

// An older Trent's deletion of a key leaves its index record behind: the
// node drops the key and deletes the orphan, so a restart does not count
// or list it.
func TestOlderTrentDeleteDropsIndex(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := *e.createKey(t).KeyId
	k := e.s.view.testKey(e.caller.Region, id)
	olderWrite(t, e.s, e.st, store.Txn{Deletes: []string{keyPath(e.caller.Account, e.caller.Region, id), materialPath(e.caller.Account, e.caller.Region, id, k.rec.CurrentMaterial)}})
	if _, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: &id}); code(err) != "NotFoundException" {
		t.Fatalf("DescribeKey of the deleted key: %v", err)
	}
	if listed(t, e.s, e.caller, id) || e.s.KeyCount() != 0 {
		t.Fatal("the deleted key is still listed or counted")
	}
	if _, ok := storedIndex(t, e.st, e.caller.Account, e.caller.Region, id); ok {
		t.Fatal("the index record outlived its key")
	}
	s2, err := New(ctx, e.st, e.sealer, Options{Now: e.clock.Now, Principals: e.ids, Organization: e.ids})
	if err != nil {
		t.Fatal(err)
	}
	if s2.KeyCount() != 0 || listed(t, s2, e.caller, id) {
		t.Fatal("a restart still knows the deleted key")
	}
}

// A key record newer than its index record, written by an older Trent
// while no node of this version watched, is re-indexed when a node loads
// the key, and the store's index record is repaired.
func TestStaleIndexRepairedOnLoad(t *testing.T) {
	dir := t.TempDir()
	st, sealer, clk := newStore(t, dir)
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s0, err := New(ctx, st, sealer, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	account, region := "111122223333", "us-east-1"
	rec, txn := olderKey(t, s0, account, region)
	txn.Puts = append(txn.Puts, storedKey(rec)...) // indexed, as Upgrade leaves it
	if _, err := st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	rec.State, rec.DeletionDate, rec.PendingWindow = PendingDeletion, stampOf(clk.Now().Add(7*24*time.Hour)), 7
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: keyPath(account, region, rec.ID), Value: marshal(rec)}}}); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, st, sealer, Options{Now: clk.Now, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if k := s.view.testKey(region, rec.ID); k == nil || k.rec.State != PendingDeletion {
		t.Fatal("the key did not load as its key record has it")
	}
	if ix, ok := storedIndex(t, st, account, region, rec.ID); !ok || ix.Due != int64(rec.DeletionDate) {
		t.Fatalf("stored index record %+v, %v; want due at the deletion date", ix, ok)
	}
	clk.Add(8 * 24 * time.Hour)
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, keyPath(account, region, rec.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key record past its deletion date: %v", err)
	}
}

// Two nodes on one etcd cluster, both running when an older Trent, also
// on the cluster, creates a key and later deletes it, neither with an
// index record: both serve the key at once, both repair its index record
// (one write wins), and both drop it and its index record on its deletion.
func TestOlderTrentOnEtcdCluster(t *testing.T) {
	cl := newEtcdCluster(t)
	ctx := cl.ctx
	a, b := cl.node(cl.open()), cl.node(cl.open())
	older := cl.open()
	who := &authz.Identity{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Type: authz.RootType, UserID: "111122223333"}}
	caller := Caller{Account: "111122223333", ARN: who.ARN, Region: "us-east-1", Identity: who}
	rec, txn := olderKey(t, a, caller.Account, caller.Region)
	rev, err := older.Txn(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	for _, s := range []*Service{a, b} {
		if err := s.follower.Wait(wctx, rev); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Encrypt(ctx, caller, &kmsapi.EncryptRequest{KeyId: &rec.ID, Plaintext: []byte("x")}); err != nil {
			t.Fatalf("Encrypt under the older Trent's key: %v", err)
		}
		if !listed(t, s, caller, rec.ID) || s.KeyCount() != 1 {
			t.Fatal("the older Trent's key is not listed or counted")
		}
	}
	if ix, ok := storedIndex(t, older, caller.Account, caller.Region, rec.ID); !ok || ix != indexOf(&rec) {
		t.Fatalf("stored index record %+v, %v; want %+v", ix, ok, indexOf(&rec))
	}
	rev, err = older.Txn(ctx, store.Txn{Deletes: []string{keyPath(caller.Account, caller.Region, rec.ID), materialPath(caller.Account, caller.Region, rec.ID, rec.CurrentMaterial)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		if err := s.follower.Wait(wctx, rev); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DescribeKey(ctx, caller, &kmsapi.DescribeKeyRequest{KeyId: &rec.ID}); code(err) != "NotFoundException" {
			t.Fatalf("DescribeKey of the deleted key: %v", err)
		}
	}
	if _, ok := storedIndex(t, older, caller.Account, caller.Region, rec.ID); ok {
		t.Fatal("the index record outlived its key")
	}
	if n := cl.node(cl.open()).KeyCount(); n != 0 {
		t.Fatalf("a node started after the deletion counts %d keys", n)
	}
}

// Upgrade's write of an index record that meets a change of its key record
// made by an older Trent, which wrote no index record, indexes the key as
// changed.
func TestUpgradeIndexesKeyChangedMeanwhile(t *testing.T) {
	st, sealer, clk := newStore(t, t.TempDir())
	defer st.Close()
	ctx := context.Background()
	s, err := New(ctx, st, sealer, Options{Now: clk.Now}) // not run: nothing repairs from the watch
	if err != nil {
		t.Fatal(err)
	}
	account, region := "111122223333", "us-east-1"
	rec, txn := olderKey(t, s, account, region)
	if _, err := st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	read, err := st.Get(ctx, keyPath(account, region, rec.ID)) // what Upgrade's scan read
	if err != nil {
		t.Fatal(err)
	}
	rec.State, rec.DeletionDate, rec.PendingWindow = PendingDeletion, stampOf(clk.Now().Add(7*24*time.Hour)), 7
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: read.Key, Value: marshal(rec)}}}); err != nil {
		t.Fatal(err)
	}
	if err := writeIndex(ctx, st, []store.KV{read}, nil); err != nil {
		t.Fatal(err)
	}
	ix, err := st.Get(ctx, keyIndexPath(account, region, rec.ID))
	if err != nil {
		t.Fatalf("index record: %v", err)
	}
	if got, err := decodeIndexRecord(ix.Value); err != nil || got != indexOf(&rec) {
		t.Fatalf("index record %+v, %v; want %+v", got, err, indexOf(&rec))
	}
	// Another repair of the same key, as a second node makes, writes nothing.
	if err := repairIndexOnce(ctx, st, read.Key); err != nil {
		t.Fatal(err)
	}
	if again, err := st.Get(ctx, ix.Key); err != nil || again.ModRev != ix.ModRev {
		t.Fatalf("index record rewritten by a second repair: %v, %d → %d", err, ix.ModRev, again.ModRev)
	}
}
