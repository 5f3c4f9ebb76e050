package bolt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// Concurrent transactions are committed in batches, each still with its own
// revision, compares and watch response: revisions are 1..n without a gap,
// every watcher sees every write once in revision order, and of many
// creates of one key exactly one wins.
func TestGroupCommit(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := db.Watch(ctx, "", 0)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	revs := map[int64]bool{}
	wins := 0
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				rev, err := db.Txn(ctx, store.Txn{
					Compares: []store.Compare{{Key: fmt.Sprintf("k/%d/%d", g, i)}},
					Puts:     []store.KV{{Key: fmt.Sprintf("k/%d/%d", g, i), Value: []byte{byte(i)}}},
				})
				if err != nil {
					t.Error(err)
					return
				}
				// Everyone also tries to create the same key once.
				_, cerr := db.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: "contested"}}, Puts: []store.KV{{Key: "contested", Value: []byte{byte(g)}}}})
				mu.Lock()
				if revs[rev] {
					t.Errorf("revision %d given twice", rev)
				}
				revs[rev] = true
				if cerr == nil {
					wins++
				} else if cerr != store.ErrConflict {
					t.Error(cerr)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := int64(writers*each + wins)
	if wins != 1 {
		t.Fatalf("%d creates of one key won, want 1", wins)
	}
	var last int64
	for seen := int64(0); seen < total; {
		resp := <-w
		if resp.Err != nil || resp.Revision != last+1 || len(resp.Events) != 1 {
			t.Fatalf("watch response %+v after revision %d", resp, last)
		}
		last = resp.Revision
		seen++
	}
	db.mu.Lock()
	commits, rev := db.commits, db.rev
	db.mu.Unlock()
	if rev != total {
		t.Fatalf("store revision %d, want %d", rev, total)
	}
	if commits >= int(total) {
		t.Fatalf("%d bbolt commits for %d transactions: none were grouped", commits, total)
	}
	t.Logf("%d transactions in %d commits", total, commits)
	kvs, _, err := db.Range(ctx, "k/")
	if err != nil || len(kvs) != writers*each {
		t.Fatalf("Range = %d records, %v; want %d", len(kvs), err, writers*each)
	}
}

// A transaction bbolt refuses (an empty key) fails alone; the others of its
// batch commit.
func TestGroupCommitIsolatesAFailingTransaction(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := []*pending{
		{t: store.Txn{Puts: []store.KV{{Key: "a", Value: []byte("1")}}}, done: make(chan struct{})},
		{t: store.Txn{Puts: []store.KV{{Key: "", Value: []byte("bad")}}}, done: make(chan struct{})},
		{t: store.Txn{Puts: []store.KV{{Key: "b", Value: []byte("2")}}}, done: make(chan struct{})},
	}
	db.commit(p)
	if p[0].err != nil || p[2].err != nil || p[1].err == nil {
		t.Fatalf("errors %v, %v, %v; want only the empty key's", p[0].err, p[1].err, p[2].err)
	}
	if p[0].rev != 1 || p[2].rev != 2 {
		t.Fatalf("revisions %d, %d; want 1, 2", p[0].rev, p[2].rev)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := db.Get(context.Background(), k); err != nil {
			t.Fatalf("Get %s: %v", k, err)
		}
	}
}
