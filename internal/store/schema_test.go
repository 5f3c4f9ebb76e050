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
	if err := store.CheckSchema(ctx, st); err != nil {
		t.Fatal(err)
	}
	kv, err := st.Get(ctx, store.SchemaKey)
	if err != nil || string(kv.Value) != `{"version":2}` {
		t.Fatalf("schema record = %q, %v", kv.Value, err)
	}
	if err := store.CheckSchema(ctx, st); err != nil {
		t.Fatalf("second check: %v", err)
	}
	// A store of version 1 reads unchanged, and is raised so that a
	// version 1 binary refuses what this one writes.
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: store.SchemaKey, Value: []byte(`{"version":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckSchema(ctx, st); err != nil {
		t.Fatalf("a version 1 store: %v", err)
	}
	if kv, err := st.Get(ctx, store.SchemaKey); err != nil || string(kv.Value) != `{"version":2}` {
		t.Fatalf("schema record after raising = %q, %v", kv.Value, err)
	}
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: store.SchemaKey, Value: []byte(`{"version":3}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckSchema(ctx, st); !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("a newer store: %v, want ErrNewerSchema", err)
	}
}
