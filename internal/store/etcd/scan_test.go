package etcd

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/storetest"
)

// smallPages makes every scan of the test read pages of n records and
// counts the records its requests bring back.
func smallPages(t *testing.T, n int64) *int {
	fetched := new(int)
	page, hook := scanPage, scanFetched
	scanPage, scanFetched = n, func(k int) { *fetched += k }
	t.Cleanup(func() { scanPage, scanFetched = page, hook })
	return fetched
}

// The Scanner contract, inside the store's prefix, over pages of one
// record, of three, and of the default size.
func TestScanContract(t *testing.T) {
	for _, n := range []int64{1, 3, scanPage} {
		t.Run(fmt.Sprint("page ", n), func(t *testing.T) {
			smallPages(t, n)
			other := open(t, "scan-too/")
			put(t, other, "scan/a/keep", "another deployment")
			storetest.Scan(t, open(t, "scan/"))
		})
	}
}

// A scan over several pages hands over exactly what Range returns, and
// reads each record once.
func TestScanPagesAsRange(t *testing.T) {
	fetched := smallPages(t, 4)
	s := open(t)
	var txn store.Txn
	for i := range 23 {
		txn.Puts = append(txn.Puts, store.KV{Key: fmt.Sprintf("r/%02d", i), Value: []byte(fmt.Sprint("value ", i))})
	}
	if _, err := s.Txn(ctxT(t), txn); err != nil {
		t.Fatal(err)
	}
	put(t, s, "r0", "outside", "q/1", "outside")
	want, wantRev, err := s.Range(ctxT(t), "r/")
	if err != nil {
		t.Fatal(err)
	}
	*fetched = 0 // Range pages through a scan too
	var got []store.KV
	rev, err := s.Scan(ctxT(t), "r/", nil, func(kv store.KV) error {
		kv.Value = bytes.Clone(kv.Value)
		got = append(got, kv)
		return nil
	})
	if err != nil || rev != wantRev || fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 23 {
		t.Fatalf("Scan = %v at %d, %v\nRange = %v at %d", got, rev, err, want, wantRev)
	}
	if *fetched != 23 {
		t.Fatalf("the scan fetched %d records, want the 23 once each", *fetched)
	}
}

// After keep refuses a record, the next page starts where skip says: of a
// refused run of 100 records only what was left of the page that reached
// it is fetched.
func TestScanSkipLeavesARefusedRunUnfetched(t *testing.T) {
	fetched := smallPages(t, 5)
	s := open(t)
	var txn store.Txn
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("acct/1/index/%02d", i)
		txn.Puts = append(txn.Puts, store.KV{Key: k, Value: []byte("i")})
		want = append(want, k)
	}
	if _, err := s.Txn(ctxT(t), txn); err != nil {
		t.Fatal(err)
	}
	for b := range 2 { // 100 key records, in transactions of etcd's 128 operations at most
		txn = store.Txn{}
		for i := range 50 {
			txn.Puts = append(txn.Puts, store.KV{Key: fmt.Sprintf("acct/1/keys/%03d", 50*b+i), Value: bytes.Repeat([]byte("k"), 1024)})
		}
		if _, err := s.Txn(ctxT(t), txn); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, "acct/1/policy", "p", "acct/2/index/00", "i")
	want = append(want, "acct/1/policy", "acct/2/index/00")

	keep := func(k []byte) bool { return !bytes.Contains(k, []byte("/keys/")) }
	skip := func(k []byte) []byte {
		i := bytes.Index(k, []byte("/keys/"))
		return append(append([]byte(nil), k[:i+len("/keys")]...), '0')
	}
	var got []string
	if _, err := s.ScanSkip(ctxT(t), "acct/", keep, skip, func(kv store.KV) error {
		got = append(got, kv.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ScanSkip = %v, want %v", got, want)
	}
	// Pages: index 00–04; index 05–06 and keys 000–002; then from keys0:
	// policy and acct/2. Three key records of the hundred.
	if *fetched != 12 {
		t.Fatalf("the scan fetched %d records, want 12 (9 kept, 3 of the refused run)", *fetched)
	}

	// Without the skip every refused record is fetched to be refused.
	*fetched = 0
	if _, err := s.Scan(ctxT(t), "acct/", keep, func(store.KV) error { return nil }); err != nil || *fetched != 109 {
		t.Fatalf("Scan fetched %d records, %v; want all 109", *fetched, err)
	}
}

// fn sees the snapshot of the first page: what is written during the scan
// is not seen, and what is deleted during it still is.
func TestScanIsOneSnapshot(t *testing.T) {
	smallPages(t, 2)
	s := open(t)
	put(t, s, "s/1", "1", "s/2", "2", "s/3", "3", "s/4", "4", "s/5", "5")
	ctx := ctxT(t)
	var got []string
	var first int64
	rev, err := s.Scan(ctx, "s/", nil, func(kv store.KV) error {
		got = append(got, kv.Key+"="+string(kv.Value))
		if kv.Key == "s/1" {
			var err error
			first, err = s.Txn(ctx, store.Txn{
				Puts:    []store.KV{{Key: "s/3", Value: []byte("changed")}, {Key: "s/35", Value: []byte("new")}},
				Deletes: []string{"s/4", "s/5"},
			})
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[s/1=1 s/2=2 s/3=3 s/4=4 s/5=5]"; fmt.Sprint(got) != want || rev >= first {
		t.Fatalf("Scan = %v at %d (write at %d), want %s before the write", got, rev, first, want)
	}
}

// A revision compacted under a scan ends it with store.ErrCompacted, never
// with records of two revisions; a Follower's Load then loads again from
// nothing and sees the newer state alone.
func TestScanCompacted(t *testing.T) {
	smallPages(t, 2)
	s := open(t)
	put(t, s, "c/1", "1", "c/2", "2", "c/3", "3", "c/4", "4", "c/5", "5")
	ctx := ctxT(t)
	raw := rawClient(t)
	compactAfterChange := func() error {
		rev, err := s.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "c/3", Value: []byte("changed")}}, Deletes: []string{"c/4"}})
		if err != nil {
			return err
		}
		_, err = raw.Compact(ctx, rev, clientv3.WithCompactPhysical())
		return err
	}
	var got []string
	_, err := s.Scan(ctx, "c/", nil, func(kv store.KV) error {
		got = append(got, kv.Key)
		if kv.Key == "c/1" {
			return compactAfterChange()
		}
		return nil
	})
	if !errors.Is(err, store.ErrCompacted) || fmt.Sprint(got) != "[c/1 c/2]" {
		t.Fatalf("Scan across a compaction = %v, %v; want the first page, then ErrCompacted", got, err)
	}

	l := &compactingLoader{compact: compactAfterChange}
	f := store.NewFollower(s, "c/", l)
	if err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if want := "[c/1=1 c/2=2 c/3=changed c/5=5]"; fmt.Sprint(l.kvs) != want || l.loads != 2 {
		t.Fatalf("after %d loads the view is %v, want %s after 2", l.loads, l.kvs, want)
	}

	// A store compacted under every try: Load gives up with the error.
	l = &compactingLoader{compact: compactAfterChange, always: true}
	if err := store.NewFollower(s, "c/", l).Load(ctx); !errors.Is(err, store.ErrCompacted) || l.loads != 3 {
		t.Fatalf("Load compacted under every try = %v after %d loads, want ErrCompacted after 3", err, l.loads)
	}
}

// compactingLoader is a store.Loader that has the store changed and
// compacted while it reads its first record: on its first load, or on every
// one if always.
type compactingLoader struct {
	compact func() error
	always  bool
	loads   int
	kvs     []string
}

func (l *compactingLoader) LoadFrom(scan func(put func(store.KV)) error) error {
	l.loads++
	l.kvs = nil
	var err error
	serr := scan(func(kv store.KV) {
		l.kvs = append(l.kvs, kv.Key+"="+string(kv.Value))
		if len(l.kvs) == 1 && (l.loads == 1 || l.always) && err == nil {
			err = l.compact()
		}
	})
	return errors.Join(err, serr)
}

func (l *compactingLoader) Reset([]store.KV, int64)   { panic("a Loader is loaded through LoadFrom") }
func (l *compactingLoader) Apply(store.WatchResponse) {}
