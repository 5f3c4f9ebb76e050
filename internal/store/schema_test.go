package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

func TestCheckSchema(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := store.CheckSchema(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	kv, err := st.Get(ctx, store.SchemaKey)
	if err != nil || string(kv.Value) != `{"version":3}` {
		t.Fatalf("schema record = %q, %v", kv.Value, err)
	}
	if err := store.CheckSchema(ctx, st, nil); err != nil {
		t.Fatalf("second check: %v", err)
	}
	// A store of version 1 reads unchanged, and is raised so that a
	// version 1 binary refuses what this one writes.
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: store.SchemaKey, Value: []byte(`{"version":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckSchema(ctx, st, nil); err != nil {
		t.Fatalf("a version 1 store: %v", err)
	}
	if kv, err := st.Get(ctx, store.SchemaKey); err != nil || string(kv.Value) != `{"version":3}` {
		t.Fatalf("schema record after raising = %q, %v", kv.Value, err)
	}
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: store.SchemaKey, Value: []byte(`{"version":4}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckSchema(ctx, st, nil); !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("a newer store: %v, want ErrNewerSchema", err)
	}
}

// An older store is raised only after its upgrade succeeded: one whose
// upgrade failed keeps its version, so the next start upgrades it again.
func TestCheckSchemaUpgrades(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: store.SchemaKey, Value: []byte(`{"version":2}`)}}}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := store.CheckSchema(ctx, st, func(context.Context, int) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed upgrade: %v, want boom", err)
	}
	if v, err := store.ReadSchema(ctx, st); err != nil || v != 2 {
		t.Fatalf("version after a failed upgrade = %d, %v; want 2", v, err)
	}
	var from []int
	if err := store.CheckSchema(ctx, st, func(_ context.Context, v int) error { from = append(from, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(from) != 1 || from[0] != 2 {
		t.Fatalf("upgrade called from %v, want [2]", from)
	}
	if v, err := store.ReadSchema(ctx, st); err != nil || v != store.SchemaVersion {
		t.Fatalf("version after the upgrade = %d, %v", v, err)
	}
}
