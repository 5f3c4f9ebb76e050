// Package storetest is the behaviour every store engine must show, run by each
// engine's tests against a real instance.
package storetest

import (
	"context"
	"errors"
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
	t.Run("delete of a missing key is no change", func(t *testing.T) {
		_, before, _ := s.Range(ctx, "")
		after, err := s.Txn(ctx, store.Txn{Deletes: []string{"never-there"}})
		if err != nil || after != before {
			t.Fatalf("Txn(delete missing) = %d, %v; want %d, nil", after, err, before)
		}
	})
}
