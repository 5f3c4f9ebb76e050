package kms

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// indexRecordOf reads a key's stored index record; ok is false if it has none.
func (e *env) indexRecordOf(t *testing.T, id string) (indexRecord, bool) {
	t.Helper()
	kv, err := e.st.Get(context.Background(), keyIndexPath(e.caller.Account, e.caller.Region, id))
	if err == store.ErrNotFound {
		return indexRecord{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var ix indexRecord
	if err := json.Unmarshal(kv.Value, &ix); err != nil {
		t.Fatal(err)
	}
	return ix, true
}

// Every write of a key writes its index record, which says when the
// sweeps are due and which document the key names, and the deletion of the
// key deletes it.
func TestIndexRecordFollowsKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createKey(t).KeyId
	ix, ok := e.indexRecordOf(t, *id)
	if !ok || ix.Due != 0 || ix.Doc != policyRef(DefaultPolicy(e.caller.Account)) || ix.Store != "" || ix.Unbound {
		t.Fatalf("index of a new key = %+v, %v", ix, ok)
	}
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	k := e.s.view.testKey(e.caller.Region, *id)
	if ix, _ := e.indexRecordOf(t, *id); ix.Due == 0 || ix.Due != int64(k.rec.NextRotation) {
		t.Fatalf("index with rotation = %+v, want due at %v", ix, k.rec.NextRotation.Time())
	}
	out, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id, PendingWindowInDays: wire.Ptr(int32(7))})
	if err != nil {
		t.Fatal(err)
	}
	if ix, _ := e.indexRecordOf(t, *id); ix.Due != time.Time(*out.DeletionDate).UnixNano() {
		t.Fatalf("index pending deletion = %+v, want due at %v", ix, time.Time(*out.DeletionDate))
	}
	e.clock.Add(8 * 24 * time.Hour)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.indexRecordOf(t, *id); ok {
		t.Fatal("the index record outlived its key")
	}
}

// A store of schema version 2 (keys without index records) gets an index
// record for every key before the version is raised to 3, and an unbound
// key is marked for binding.
func TestUpgradeWritesKeyIndex(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.createKey(t).KeyId, e.createKey(t).KeyId
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: b, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	want := map[string]indexRecord{}
	for _, id := range []string{*a, *b} {
		ix, ok := e.indexRecordOf(t, id)
		if !ok {
			t.Fatal("no index record")
		}
		want[id] = ix
	}
	// An older Trent's key: inline policy naming a user it did not bind.
	old := e.s.view.testKey(e.caller.Region, *a).rec
	old.ID, old.PolicyRef, old.PolicyBindings = "0f0e0d0c-0b0a-4908-8706-050403020100", "", nil
	old.Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}]}`
	txn := store.Txn{
		Puts:    []store.KV{{Key: keyPath(old.Account, old.Region, old.ID), Value: marshal(old)}, {Key: store.SchemaKey, Value: []byte(`{"version":2}`)}},
		Deletes: []string{keyIndexPath(e.caller.Account, e.caller.Region, *a), keyIndexPath(e.caller.Account, e.caller.Region, *b)},
	}
	if _, err := e.st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckSchema(ctx, e.st, func(ctx context.Context, from int) error { return Upgrade(ctx, e.st, from) }); err != nil {
		t.Fatal(err)
	}
	if v, err := store.ReadSchema(ctx, e.st); err != nil || v != 3 {
		t.Fatalf("schema %d, %v; want 3", v, err)
	}
	for id, w := range want {
		if got, ok := e.indexRecordOf(t, id); !ok || got != w {
			t.Errorf("upgraded index of %s = %+v, %v; want %+v", id, got, ok, w)
		}
	}
	if got, ok := e.indexRecordOf(t, old.ID); !ok || !got.Unbound || got.Doc != "" {
		t.Errorf("upgraded index of the older key = %+v, %v; want it unbound", got, ok)
	}
	// A node started on the upgraded store loads the keys, whose index
	// records are newer than their key records.
	s2, err := New(ctx, e.st, e.sealer, Options{Now: e.clock.Now, Principals: e.ids, Organization: e.ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{*a, *b, old.ID} {
		if k, err := s2.view.key(e.caller.Region, id); err != nil || k == nil {
			t.Errorf("key %s after the upgrade: %v, %v", id, k != nil, err)
		}
	}
}

// testKey is view.key for tests, which have no store failures to expect.
func (v *view) testKey(region, id string) *key {
	k, err := v.key(region, id)
	if err != nil {
		panic(err)
	}
	return k
}

// The index holds key ids in 16 bytes when they are in the canonical
// lower-case form, and any other id apart, and gives each back as it was.
func TestKeyIndexIDs(t *testing.T) {
	x := newKeyIndex()
	ids := []string{"0f0e0d0c-0b0a-4908-8706-050403020100", "mrk-00112233445566778899aabbccddeeff", "0F0E0D0C-0B0A-4908-8706-050403020100", "mrk-00112233445566778899AABBCCDDEEFF"}
	for i, id := range ids {
		x.set("us-east-1", id, ixEntry{due: int64(i + 1)})
	}
	if len(x.entries) != 2 || len(x.other) != 2 || x.len() != 4 {
		t.Fatalf("%d compact, %d other; want 2 and 2", len(x.entries), len(x.other))
	}
	for i, id := range ids {
		if e, ok := x.get("us-east-1", id); !ok || e.due != int64(i+1) {
			t.Errorf("get(%s) = %+v, %v", id, e, ok)
		}
		if _, ok := x.get("eu-west-1", id); ok {
			t.Errorf("%s found in another Region", id)
		}
	}
	got := map[string]int64{}
	x.each(func(ixEntry) bool { return true }, func(region, id string, e ixEntry) { got[id] = e.due })
	for i, id := range ids {
		if got[id] != int64(i+1) {
			t.Errorf("each gave %s as %d", id, got[id])
		}
	}
	x.del("us-east-1", ids[0])
	x.del("us-east-1", ids[2])
	if _, ok := x.get("us-east-1", ids[0]); ok || x.len() != 2 {
		t.Fatalf("after deletes: len %d", x.len())
	}
}

// The hand decoder of index records reads what marshal writes as
// encoding/json does, and leaves every other form to encoding/json.
func TestDecodeIndexRecord(t *testing.T) {
	var inputs [][]byte
	for _, ix := range []indexRecord{{}, {Due: 1}, {Due: 1767225600000000000, Doc: policyRef("x")}, {Doc: "d", Store: "cks-1234", Unbound: true}, {Due: 999999999999999999, Store: "s"}} {
		inputs = append(inputs, ix.marshal())
	}
	inputs = append(inputs, []byte(`{"unbound":true,"due":5}`), []byte(`{"due":-1}`), []byte(`{"due":1e3}`), []byte(`{"doc":"a\u0041"}`),
		[]byte(`{ "due":1}`), []byte(`{"due":12345678901234567890}`), []byte(`{"extra":1,"due":2}`), []byte(`{"unbound":false}`), []byte(`{"due":7`), []byte(`not json`))
	for _, in := range inputs {
		var want indexRecord
		wantErr := json.Unmarshal(in, &want)
		got, err := decodeIndexRecord(in)
		if (err != nil) != (wantErr != nil) || (err == nil && got != want) {
			t.Errorf("%s: %+v, %v; encoding/json: %+v, %v", in, got, err, want, wantErr)
		}
	}
	if _, ok := decodeIndexFast([]byte(`{"due":5,"doc":"abc"}`)); !ok {
		t.Error("the form marshal writes was left to encoding/json")
	}
}

// Upgrade writes its index records between the pages it reads: a write
// from inside bolt's scan waited, whenever the file had to grow, for the
// scan's own read transaction to end (bbolt remaps only with no reader),
// and a store of a few thousand older keys hung the start.
func TestUpgradeOfManyKeysOnBolt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := e.s.view.testKey(e.caller.Region, *e.createKey(t).KeyId).rec
	const n = 3000
	for i := 0; i < n; i += 100 {
		var txn store.Txn
		for j := i; j < i+100; j++ {
			r := old
			r.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", j)
			txn.Puts = append(txn.Puts, store.KV{Key: keyPath(r.Account, r.Region, r.ID), Value: marshal(r)})
		}
		if _, err := e.st.Txn(ctx, txn); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- Upgrade(ctx, e.st, 2) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Upgrade of a bolt store of older keys did not return (deadlocked)")
	}
	kvs, _, err := e.st.Range(ctx, regionPrefix(e.caller.Account, e.caller.Region)+"keyindex/")
	if err != nil || len(kvs) != n+1 {
		t.Fatalf("%d index records, %v; want %d", len(kvs), err, n+1)
	}
}
