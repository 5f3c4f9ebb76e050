package bolt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/storetest"
)

func TestContract(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Run(t, db)
}

func TestReopenKeepsRecordsAndRevision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trent.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rev, err := db.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "k", Value: []byte("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kv, err := db.Get(ctx, "k")
	if err != nil || !bytes.Equal(kv.Value, []byte("v")) || kv.ModRev != rev {
		t.Fatalf("after reopen Get = %+v, %v", kv, err)
	}
	next, err := db.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "k2", Value: nil}}})
	if err != nil || next != rev+1 {
		t.Fatalf("revision after reopen = %d, %v; want %d", next, err, rev+1)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestWatchTooOldIsCompacted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trent.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := db.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "k", Value: []byte{byte(i)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The history is in memory only: after a reopen, revision 1 cannot be replayed.
	resp := <-db.Watch(ctx, "", 1)
	if resp.Err != store.ErrCompacted {
		t.Fatalf("watch from rev 1 after reopen: %+v, want ErrCompacted", resp)
	}
}
