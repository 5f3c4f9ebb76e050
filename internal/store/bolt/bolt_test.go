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

// loader is a store.Handler that keeps what it is given, by each path.
type loader struct {
	keepPrefix string
	reset      []store.KV
	loaded     []store.KV
}

func (l *loader) Reset(kvs []store.KV, _ int64) { l.reset = kvs }
func (l *loader) Apply(store.WatchResponse)     {}
func (l *loader) Keep(k []byte) bool            { return bytes.HasPrefix(k, []byte(l.keepPrefix)) }

type streamLoader struct{ loader }

func (l *streamLoader) LoadFrom(scan func(put func(store.KV)) error) error {
	return scan(func(kv store.KV) {
		kv.Value = bytes.Clone(kv.Value) // valid only during put
		l.loaded = append(l.loaded, kv)
	})
}

// Scan streams the records a filter keeps, from one snapshot; a follower
// loads a Filter's records only, and a Loader's without a slice of them all.
func TestScanAndFollowerLoad(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rev, err := db.Txn(ctx, store.Txn{Puts: []store.KV{
		{Key: "p/a/keep/1", Value: []byte("1")}, {Key: "p/a/skip/2", Value: []byte("2")},
		{Key: "p/b/keep/3", Value: []byte("3")}, {Key: "q/keep/4", Value: []byte("4")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	got, err := db.Scan(ctx, "p/", func(k []byte) bool { return bytes.Contains(k, []byte("/keep/")) }, func(kv store.KV) error {
		seen = append(seen, kv.Key+"="+string(kv.Value))
		if kv.ModRev != rev || kv.CreateRev != rev {
			t.Errorf("%s: revisions %d, %d; want %d", kv.Key, kv.CreateRev, kv.ModRev, rev)
		}
		return nil
	})
	if err != nil || got != rev || fmt.Sprint(seen) != "[p/a/keep/1=1 p/b/keep/3=3]" {
		t.Fatalf("Scan = %v, %d, %v", seen, got, err)
	}
	stop := fmt.Errorf("stop")
	if _, err := db.Scan(ctx, "", nil, func(store.KV) error { return stop }); err != stop {
		t.Fatalf("Scan returned %v, want fn's error", err)
	}

	f := &loader{keepPrefix: "p/a/"}
	if err := store.NewFollower(db, "p/", f).Load(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.reset) != 2 || f.reset[0].Key != "p/a/keep/1" || string(f.reset[1].Value) != "2" {
		t.Fatalf("a Filter's Reset got %+v", f.reset)
	}
	sl := &streamLoader{loader{keepPrefix: "p/"}}
	if err := store.NewFollower(db, "p/", sl).Load(ctx); err != nil {
		t.Fatal(err)
	}
	if sl.reset != nil || len(sl.loaded) != 3 || string(sl.loaded[2].Value) != "3" {
		t.Fatalf("a Loader got Reset %+v and LoadFrom %+v", sl.reset, sl.loaded)
	}
}

// The watch history is bounded by the bytes it holds, not only by its
// revisions: large revisions (batches of records) are let go sooner, and a
// watcher behind them must load again.
func TestHistoryIsBoundedBySize(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	big := bytes.Repeat([]byte{'x'}, 64<<10)
	for i := range 300 { // 300 revisions of 64 KiB: more than historyBytes
		if _, err := db.Txn(ctx, store.Txn{Puts: []store.KV{{Key: fmt.Sprint("k", i), Value: big}}}); err != nil {
			t.Fatal(err)
		}
	}
	db.mu.Lock()
	size, n, sum := db.histSize, len(db.history), 0
	for _, r := range db.history {
		sum += respSize(r)
	}
	db.mu.Unlock()
	if size > historyBytes || size != sum || n == 0 || n >= 300 {
		t.Fatalf("history of %d revisions holding %d bytes (counted %d); want under %d", n, sum, size, historyBytes)
	}
	if resp := <-db.Watch(ctx, "", 1); resp.Err != store.ErrCompacted {
		t.Fatalf("watch from revision 1: %+v, want ErrCompacted", resp.Err)
	}
	w := db.Watch(ctx, "", 299)
	if resp := <-w; resp.Err != nil || resp.Revision != 300 {
		t.Fatalf("watch from revision 299: %+v", resp)
	}
}

// ScanSkip seeks past a run of refused records to where skip says, and
// ignores a skip that would not move the scan forward; a follower whose
// handler is a Skipper loads the same records as without skipping.
func TestScanSkip(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var puts []store.KV
	for _, k := range []string{"a/keep", "b/kms/1", "b/kms/2", "b/kms/3", "b/keep", "c/kms/1", "c/keep", "d/skipme"} {
		puts = append(puts, store.KV{Key: k, Value: []byte(k)})
	}
	if _, err := db.Txn(ctx, store.Txn{Puts: puts}); err != nil {
		t.Fatal(err)
	}
	keep := func(k []byte) bool { return bytes.HasSuffix(k, []byte("/keep")) }
	var asked []string
	skip := func(k []byte) []byte {
		asked = append(asked, string(k))
		if i := bytes.Index(k, []byte("/kms/")); i >= 0 {
			return append(append([]byte(nil), k[:i+4]...), '0') // past <x>/kms/
		}
		return k // not after k: ignored
	}
	var seen []string
	if _, err := db.ScanSkip(ctx, "", keep, skip, func(kv store.KV) error { seen = append(seen, kv.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[a/keep b/keep c/keep]" {
		t.Fatalf("ScanSkip kept %v", seen)
	}
	// One question per run: b/kms/2 and b/kms/3 are passed over unread.
	if fmt.Sprint(asked) != "[b/kms/1 c/kms/1 d/skipme]" {
		t.Fatalf("skip was asked about %v", asked)
	}
	f := &skipLoader{loader: loader{keepPrefix: ""}}
	f.keep, f.skip = keep, skip
	if err := store.NewFollower(db, "", f).Load(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.reset) != 3 || f.reset[1].Key != "b/keep" || len(asked) != 6 {
		t.Fatalf("a Skipper's Reset got %+v, skip asked %v", f.reset, asked)
	}
}

type skipLoader struct {
	loader
	keep func([]byte) bool
	skip func([]byte) []byte
}

func (l *skipLoader) Keep(k []byte) bool   { return l.keep(k) }
func (l *skipLoader) Skip(k []byte) []byte { return l.skip(k) }

func TestScanContract(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Scan(t, db)
}
