// Package storetest is the behaviour every store engine must show, run by each
// engine's tests against a real instance.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// Run checks s against the store.Store contract. s must be empty.
func Run(t *testing.T, s store.Store) {
	ctx := context.Background()
	t.Run("get missing", func(t *testing.T) {
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("create only if absent", func(t *testing.T) {
		put := store.Txn{Compares: []store.Compare{{Key: "a/1", ModRev: 0}}, Puts: []store.KV{{Key: "a/1", Value: []byte("one")}}}
		rev, err := s.Txn(ctx, put)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Txn(ctx, put); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second create: err = %v, want ErrConflict", err)
		}
		kv, err := s.Get(ctx, "a/1")
		if err != nil || string(kv.Value) != "one" || kv.ModRev != rev || kv.CreateRev != rev {
			t.Fatalf("Get = %+v, %v; want value one at rev %d", kv, err, rev)
		}
	})
	t.Run("compare on mod revision", func(t *testing.T) {
		kv, _ := s.Get(ctx, "a/1")
		rev, err := s.Txn(ctx, store.Txn{
			Compares: []store.Compare{{Key: "a/1", ModRev: kv.ModRev}},
			Puts:     []store.KV{{Key: "a/1", Value: []byte("uno")}, {Key: "a/2", Value: []byte("two")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		// The stale revision must now fail and change nothing.
		_, err = s.Txn(ctx, store.Txn{
			Compares: []store.Compare{{Key: "a/1", ModRev: kv.ModRev}},
			Puts:     []store.KV{{Key: "a/3", Value: []byte("three")}},
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale compare: err = %v, want ErrConflict", err)
		}
		if _, err := s.Get(ctx, "a/3"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a failed txn wrote a/3: %v", err)
		}
		got, _ := s.Get(ctx, "a/1")
		if string(got.Value) != "uno" || got.ModRev != rev || got.CreateRev != kv.CreateRev {
			t.Fatalf("after update Get = %+v, want uno modrev %d createrev %d", got, rev, kv.CreateRev)
		}
	})
	t.Run("range by prefix in key order", func(t *testing.T) {
		if _, err := s.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "b/x", Value: []byte("x")}, {Key: "a0", Value: []byte("no")}}}); err != nil {
			t.Fatal(err)
		}
		kvs, rev, err := s.Range(ctx, "a/")
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) != 2 || kvs[0].Key != "a/1" || kvs[1].Key != "a/2" {
			t.Fatalf("Range(a/) = %v", kvs)
		}
		if rev < kvs[1].ModRev {
			t.Fatalf("Range revision %d older than a record in it (%d)", rev, kvs[1].ModRev)
		}
	})
	t.Run("watch replays and follows", func(t *testing.T) {
		_, rev, err := s.Range(ctx, "w/")
		if err != nil {
			t.Fatal(err)
		}
		r1, err := s.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "w/1", Value: []byte("1")}, {Key: "other", Value: []byte("o")}}})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := s.Watch(wctx, "w/", rev)
		r2, err := s.Txn(ctx, store.Txn{Deletes: []string{"w/1"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			rev int64
			typ store.EventType
		}{{r1, store.Put}, {r2, store.Delete}}
		for _, w := range want {
			select {
			case resp := <-ch:
				if resp.Err != nil || resp.Revision != w.rev || len(resp.Events) != 1 || resp.Events[0].Type != w.typ || resp.Events[0].KV.Key != "w/1" {
					t.Fatalf("watch got %+v, want one %v of w/1 at rev %d", resp, w.typ, w.rev)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no watch event for rev %d", w.rev)
			}
		}
	})
	t.Run("one txn is one watch response", func(t *testing.T) {
		_, from, err := s.Range(ctx, "g/")
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := s.Watch(wctx, "g/", from)
		rev, err := s.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "g/1", Value: []byte("1")}, {Key: "g/2", Value: []byte("2")}, {Key: "g/3", Value: []byte("3")}}})
		if err != nil {
			t.Fatal(err)
		}
		resp := next(t, ch)
		if resp.Err != nil || resp.Revision != rev || len(resp.Events) != 3 {
			t.Fatalf("watch got %+v, want the three puts of rev %d together", resp, rev)
		}
		for i, e := range resp.Events {
			if e.Type != store.Put || e.KV.Key != "g/"+string(rune('1'+i)) || e.KV.ModRev != rev || e.KV.CreateRev != rev || string(e.KV.Value) != string(rune('1'+i)) {
				t.Fatalf("event %d = %+v, want put of g/%d at %d", i, e, i+1, rev)
			}
		}
	})
	t.Run("a key put and deleted in one txn ends put", func(t *testing.T) {
		if _, err := s.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "pd/k", Value: []byte("old")}}}); err != nil {
			t.Fatal(err)
		}
		_, from, err := s.Range(ctx, "pd/")
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := s.Watch(wctx, "pd/", from)
		// Deletes apply before puts whatever the order, and the last put of a key wins.
		rev, err := s.Txn(ctx, store.Txn{
			Puts:    []store.KV{{Key: "pd/k", Value: []byte("first")}, {Key: "pd/k", Value: []byte("new")}, {Key: "pd/fresh", Value: []byte("f")}},
			Deletes: []string{"pd/k", "pd/fresh", "pd/missing"},
		})
		if err != nil {
			t.Fatalf("Txn putting and deleting one key: %v", err)
		}
		kv, err := s.Get(ctx, "pd/k")
		if err != nil || string(kv.Value) != "new" || kv.ModRev != rev {
			t.Fatalf("Get = %+v, %v; want new at rev %d", kv, err, rev)
		}
		if kv, err := s.Get(ctx, "pd/fresh"); err != nil || string(kv.Value) != "f" {
			t.Fatalf("Get(pd/fresh) = %+v, %v; want f", kv, err)
		}
		// Engines may report the delete of pd/k before its put; the put of
		// each key comes last and carries its final value.
		resp := next(t, ch)
		final := map[string]string{}
		for _, e := range resp.Events {
			if e.Type == store.Put {
				final[e.KV.Key] = string(e.KV.Value)
			} else {
				delete(final, e.KV.Key)
			}
		}
		if resp.Revision != rev || len(final) != 2 || final["pd/k"] != "new" || final["pd/fresh"] != "f" {
			t.Fatalf("watch got %+v, want puts of pd/k=new and pd/fresh=f at rev %d", resp, rev)
		}
	})
	t.Run("compare-only txn writes nothing", func(t *testing.T) {
		kv, err := s.Get(ctx, "a/1")
		if err != nil {
			t.Fatal(err)
		}
		_, before, _ := s.Range(ctx, "")
		rev, err := s.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: "a/1", ModRev: kv.ModRev}}})
		if err != nil || rev != before {
			t.Fatalf("Txn(compare only) = %d, %v; want %d, nil", rev, err, before)
		}
		if _, err := s.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: "a/1", ModRev: kv.ModRev + 100}}}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Txn(failing compare only) = %v, want ErrConflict", err)
		}
		if rev, err := s.Txn(ctx, store.Txn{}); err != nil || rev != before {
			t.Fatalf("Txn(empty) = %d, %v; want %d, nil", rev, err, before)
		}
	})
	t.Run("delete of a missing key is no change", func(t *testing.T) {
		_, before, _ := s.Range(ctx, "")
		after, err := s.Txn(ctx, store.Txn{Deletes: []string{"never-there"}})
		if err != nil || after != before {
			t.Fatalf("Txn(delete missing) = %d, %v; want %d, nil", after, err, before)
		}
	})
}

func next(t *testing.T, ch <-chan store.WatchResponse) store.WatchResponse {
	t.Helper()
	select {
	case resp, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return resp
	case <-time.After(10 * time.Second):
		t.Fatal("no watch response within 10s")
	}
	panic("unreachable")
}

// Page checks that store.Page on s walks a prefix in key order from after
// any key, whether or not s is a store.Pager. s must hold no key under a/,
// b/ or c/; Page writes six.
func Page(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	var txn store.Txn
	for _, k := range []string{"a/1", "b/1", "b/2", "b/3", "b/30", "c/1"} {
		txn.Puts = append(txn.Puts, store.KV{Key: k, Value: []byte(k)})
	}
	if _, err := s.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"", "", 100, "[a/1 b/1 b/2 b/3 b/30 c/1]"},
		{"", "", 2, "[a/1 b/1]"},
		{"", "b/1", 2, "[b/2 b/3]"},
		{"b/", "", 10, "[b/1 b/2 b/3 b/30]"},
		{"b/", "b/3", 10, "[b/30]"},
		{"b/", "b/30", 10, "[]"},
		{"b/", "a/9", 1, "[b/1]"},
		{"", "b/25", 10, "[b/3 b/30 c/1]"},
		{"", "c/1", 10, "[]"},
	} {
		kvs, err := store.Page(ctx, s, tt.prefix, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		keys := []string{}
		for _, kv := range kvs {
			keys = append(keys, kv.Key)
			if string(kv.Value) != kv.Key || kv.ModRev == 0 {
				t.Fatalf("record %+v", kv)
			}
		}
		if got := fmt.Sprint(keys); got != tt.want {
			t.Errorf("Page(%q, %q, %d) = %s, want %s", tt.prefix, tt.after, tt.limit, got, tt.want)
		}
	}
}

// Scan checks the store.Scanner and store.SkipScanner contracts on s: the
// records a scan hands over are those Range returns, less those keep
// refuses, and a skip passes over a refused run without asking keep about
// it. s must hold no key under scan/; Scan writes ten.
func Scan(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	sc, ok := s.(store.SkipScanner)
	if !ok {
		t.Fatalf("%T is not a store.SkipScanner", s)
	}
	keys := []string{"scan/a/keep", "scan/b/kms/1", "scan/b/kms/2", "scan/b/kms/3", "scan/b/keep",
		"scan/c/kms/1", "scan/c/keep", "scan/d/kms/1", "scan/d/skipme", "scan/e/kms/1"}
	var txn store.Txn
	for _, k := range keys {
		txn.Puts = append(txn.Puts, store.KV{Key: k, Value: []byte("v:" + k)})
	}
	if _, err := s.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	all, rangeRev, err := s.Range(ctx, "scan/")
	if err != nil {
		t.Fatal(err)
	}
	scan := func(keep func([]byte) bool, skip func([]byte) []byte) ([]store.KV, int64) {
		t.Helper()
		var got []store.KV
		rev, err := sc.ScanSkip(ctx, "scan/", keep, skip, func(kv store.KV) error {
			kv.Value = append([]byte{}, kv.Value...)
			got = append(got, kv)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, rev
	}
	t.Run("all, as Range", func(t *testing.T) {
		got, rev := scan(nil, nil)
		if fmt.Sprint(got) != fmt.Sprint(all) || rev != rangeRev || len(got) != len(keys) {
			t.Fatalf("scan = %v at %d\nRange = %v at %d", got, rev, all, rangeRev)
		}
		var viaScan []store.KV
		if _, err := s.(store.Scanner).Scan(ctx, "scan/", nil, func(kv store.KV) error {
			kv.Value = append([]byte{}, kv.Value...)
			viaScan = append(viaScan, kv)
			return nil
		}); err != nil || fmt.Sprint(viaScan) != fmt.Sprint(all) {
			t.Fatalf("Scan = %v, %v", viaScan, err)
		}
	})
	keep := func(k []byte) bool { return bytes.HasSuffix(k, []byte("/keep")) }
	t.Run("keep", func(t *testing.T) {
		got, _ := scan(keep, nil)
		var names []string
		for _, kv := range got {
			names = append(names, kv.Key+"="+string(kv.Value))
		}
		if want := "[scan/a/keep=v:scan/a/keep scan/b/keep=v:scan/b/keep scan/c/keep=v:scan/c/keep]"; fmt.Sprint(names) != want {
			t.Fatalf("kept %v, want %s", names, want)
		}
	})
	t.Run("skip", func(t *testing.T) {
		var kept, asked []string
		keepAsked := func(k []byte) bool {
			kept = append(kept, string(k))
			return keep(k)
		}
		skip := func(k []byte) []byte {
			asked = append(asked, string(k))
			if i := bytes.Index(k, []byte("/kms/")); i >= 0 {
				return append(append([]byte(nil), k[:i+4]...), '0') // past <x>/kms/
			}
			return k // not after k: ignored
		}
		got, _ := scan(keepAsked, skip)
		var names []string
		for _, kv := range got {
			names = append(names, kv.Key)
		}
		if fmt.Sprint(names) != "[scan/a/keep scan/b/keep scan/c/keep]" {
			t.Fatalf("kept %v", names)
		}
		// One question per run: scan/b/kms/2 and /3 are passed over
		// unread, and a skip not after its key is ignored.
		if want := "[scan/a/keep scan/b/keep scan/b/kms/1 scan/c/keep scan/c/kms/1 scan/d/kms/1 scan/d/skipme scan/e/kms/1]"; fmt.Sprint(kept) != want {
			t.Fatalf("keep was asked about %v, want %s", kept, want)
		}
		if want := "[scan/b/kms/1 scan/c/kms/1 scan/d/kms/1 scan/d/skipme scan/e/kms/1]"; fmt.Sprint(asked) != want {
			t.Fatalf("skip was asked about %v, want %s", asked, want)
		}
	})
	t.Run("fn's error stops it", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		if _, err := sc.ScanSkip(ctx, "scan/", nil, nil, func(store.KV) error { n++; return stop }); err != stop || n != 1 {
			t.Fatalf("ScanSkip returned %v after %d records, want fn's error after 1", err, n)
		}
	})
}
