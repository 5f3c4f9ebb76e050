package usage

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const keyA = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// node is one Trent node's audit log and tracker, on a shared store.
type node struct {
	log *audit.Log
	tr  *Tracker
}

func newNode(t *testing.T, st store.Store, name string, fileStart time.Time) *node {
	t.Helper()
	lg, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{Node: name, Now: func() time.Time { return fileStart }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	tr, err := New(context.Background(), st, lg, Options{Node: name, Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return &node{log: lg, tr: tr}
}

// use records a successful cryptographic request on a key.
func (n *node) use(op, keyARN, id string, at time.Time) {
	n.log.Record(audit.NewEvent(audit.Call{Time: at, RequestID: "req-" + id, Service: "kms", Operation: op, Region: "us-east-1", Resources: []string{keyARN}, EventID: id}))
}

func (n *node) last(t *testing.T, keyARN string) audit.Usage {
	t.Helper()
	u, ok, err := n.tr.LastUsage(context.Background(), keyARN)
	if err != nil || !ok {
		t.Fatalf("LastUsage(%s) = %v, %v", keyARN, ok, err)
	}
	return u
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Two nodes on one store agree on a key's last use once both flushed, and a
// flush never moves a key's record back in time.
func TestNodesAgree(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := newNode(t, st, "a", t0)
	b := newNode(t, st, "b", t0.Add(30*time.Minute))

	// The first node to start set when tracking began; the second reads it.
	if !a.tr.TrackingStart().Equal(t0) || !b.tr.TrackingStart().Equal(t0) {
		t.Fatalf("TrackingStart: a %v, b %v; want both %v", a.tr.TrackingStart(), b.tr.TrackingStart(), t0)
	}

	a.use("Encrypt", keyA, "e1", t0.Add(time.Minute))
	// Before A flushes, B does not know of the use; A does.
	if _, ok, _ := b.tr.LastUsage(ctx, keyA); ok {
		t.Fatal("B knows of A's unflushed use")
	}
	if u := a.last(t, keyA); u.EventID != "e1" {
		t.Fatalf("A's own use: %+v", u)
	}
	if err := a.tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if u := b.last(t, keyA); u.EventID != "e1" || u.Operation != "Encrypt" || u.RequestID != "req-e1" || !u.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("B after A's flush: %+v", u)
	}

	// B uses it later; A, flushing an older use after B's, does not win.
	b.use("Decrypt", keyA, "d1", t0.Add(3*time.Minute))
	a.use("Encrypt", keyA, "e2", t0.Add(2*time.Minute))
	if err := b.tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*node{"a": a, "b": b} {
		if u := n.last(t, keyA); u.EventID != "d1" {
			t.Errorf("node %s: last use %+v, want B's Decrypt d1", name, u)
		}
	}
}

// Nodes flushing at once, over the same keys, leave each key's record at the
// latest use either made: the conditional writes retry on conflict.
func TestConcurrentFlushesMergeByMax(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	nodes := []*node{newNode(t, st, "a", t0), newNode(t, st, "b", t0), newNode(t, st, "c", t0)}
	const keys, rounds = 40, 5
	key := func(i int) string { return fmt.Sprintf("arn:aws:kms:us-east-1:111122223333:key/k-%d", i) }
	var wg sync.WaitGroup
	for ni, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for k := range keys {
					// Each node's uses interleave in time with the others'.
					at := t0.Add(time.Duration(r*len(nodes)+ni) * time.Second)
					n.use("Encrypt", key(k), fmt.Sprintf("%d-%d-%d", ni, r, k), at)
				}
				if err := n.tr.Flush(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// The latest use of every key is the last node's last round.
	want := fmt.Sprintf("%d-%d-", len(nodes)-1, rounds-1)
	for k := range keys {
		kv, err := st.Get(ctx, keysPrefix+key(k))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if u := n.last(t, key(k)); u.EventID != want+fmt.Sprint(k) {
				t.Errorf("key %d: last use %s, want %s (record %s)", k, u.EventID, want+fmt.Sprint(k), kv.Value)
			}
		}
	}
}

// Two uses in the same second on two nodes: every node reports the same one
// once both flushed, whichever flushed first.
func TestSameSecondUsesAgree(t *testing.T) {
	ctx := context.Background()
	for _, order := range []string{"a first", "b first"} {
		t.Run(order, func(t *testing.T) {
			st := openStore(t)
			a, b := newNode(t, st, "a", t0), newNode(t, st, "b", t0)
			at := t0.Add(time.Minute)
			a.use("Encrypt", keyA, "event-1", at)
			b.use("Decrypt", keyA, "event-2", at)
			first, second := a, b
			if order == "b first" {
				first, second = b, a
			}
			if err := first.tr.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := second.tr.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			ua, ub := a.last(t, keyA), b.last(t, keyA)
			if ua != ub || ua.EventID != "event-2" {
				t.Fatalf("a reports %+v, b %+v; want both event-2", ua, ub)
			}
		})
	}
}

// A failed flush keeps its uses for the next one.
func TestFailedFlushIsRetried(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := newNode(t, st, "a", t0)
	a.use("Sign", keyA, "s1", t0.Add(time.Minute))
	// Close the store under the tracker: the flush fails and keeps the use.
	st2 := openStore(t)
	a.tr.st = st2
	st2.Close()
	if err := a.tr.Flush(ctx); err == nil {
		t.Fatal("Flush on a closed store succeeded")
	}
	a.tr.st = st
	if err := a.tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b := newNode(t, st, "b", t0)
	if u := b.last(t, keyA); u.EventID != "s1" {
		t.Fatalf("after the retried flush: %+v", u)
	}
}
