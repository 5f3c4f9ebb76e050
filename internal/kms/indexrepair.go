package kms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/store"
)

// Index records written late. Upgrade indexes a store's keys once, before
// the first node of this version serves; an older Trent that was already
// running on the same cluster keeps writing key records without index
// records, which a node of this version would not know of (a key record
// put without an index record), would know wrongly (an update: due time,
// policy document, custom key store) or would go on knowing (a delete).
//
// A node that applies such a write from its watch (Apply: the events of a
// transaction arrive in one response, and every write of this version
// puts or deletes the index record with the key record) indexes the key in
// memory at once from the key record it applied, or drops it, and queues
// the key for Run to repair the store: a transaction that writes the index
// record of the key record as read, or deletes the orphan index record of
// a deleted key, on condition that neither record changed since it was
// read. A newer write wins (ErrConflict): it is a write of this version,
// which wrote the index record, or an older Trent's, which the watch
// queues again; several nodes repairing the same key write once.
//
// A load (keycache.go) that reads a key record newer than its index entry
// — written before this node's view was loaded — does the same, as does a
// load that finds no key record for an index entry.

// repairQueue is the paths of the key records whose index records need a
// repair, each once however often it is queued.
type repairQueue struct {
	mu    sync.Mutex
	paths map[string]struct{}
	// ready has a value when paths may be non-empty.
	ready chan struct{}
}

func newRepairQueue() repairQueue {
	return repairQueue{paths: map[string]struct{}{}, ready: make(chan struct{}, 1)}
}

func (q *repairQueue) add(keyPath string) {
	q.mu.Lock()
	q.paths[keyPath] = struct{}{}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (q *repairQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, 0, len(q.paths))
	for p := range q.paths {
		out = append(out, p)
	}
	clear(q.paths)
	return out
}

// unindexedWrite indexes the key at p as the key record written by e, a
// write without the key's index record, and queues the repair of its
// index record. The caller holds v.mu for writing and applies e next.
func (v *view) unindexedWrite(p path, e store.Event) {
	keyARN := arn.KeyARN(p.region, p.account, p.id)
	if e.Type == store.Delete {
		v.s.log.Warn("kms: an older Trent deleted a key without its index record; deleting the index record", "key", keyARN)
		v.repairs.add(e.KV.Key)
		return
	}
	rec, err := decodeKeyRecord(e.KV.Value)
	if err != nil {
		// Left as it was: a load of the key fails on the same record.
		v.s.log.Error("kms: undecodable key record written without its index record", "key", keyARN, "err", err)
		return
	}
	v.s.log.Warn("kms: an older Trent wrote a key without its index record; indexing it", "key", keyARN)
	v.setIndex(p, v.indexFor(p, rec), e.KV.ModRev)
	v.repairs.add(e.KV.Key)
}

// indexFor is the index record of the key record rec stored at p, with the
// policy document it names from the view. The caller holds v.mu.
func (v *view) indexFor(p path, rec keyRecord) indexRecord {
	if rec.PolicyRef != "" {
		rec.Policy = ""
		if d := v.docs[docKey{p.account, p.region, rec.PolicyRef}]; d != nil {
			rec.Policy = d.text
		}
	}
	return indexOf(&rec)
}

// repairIndexes writes the index records the view queued until ctx ends;
// a repair the store failed is tried again after the sweep interval.
func (s *Service) repairIndexes(ctx context.Context) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.view.repairs.ready:
		case <-retry:
		}
		retry = nil
		for _, kp := range s.view.repairs.take() {
			if err := repairIndex(ctx, s.st, kp); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Error("kms: repair a key's index record", "key", kp, "err", err)
				s.view.repairs.mu.Lock()
				s.view.repairs.paths[kp] = struct{}{}
				s.view.repairs.mu.Unlock()
				retry = time.After(s.interval)
			}
		}
	}
}

// repairIndex makes the index record of the key record at kp say what the
// key record says, or deletes it if the key record is gone, unless either
// changed since it read them: then a newer write decides.
func repairIndex(ctx context.Context, st store.Store, kp string) error {
	if err := repairIndexOnce(ctx, st, kp); !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// repairIndexOnce is repairIndex, with ErrConflict if a record changed.
func repairIndexOnce(ctx context.Context, st store.Store, kp string) error {
	p, ok := parsePath(kp)
	if !ok || p.kind != "keys" {
		return nil
	}
	ip := keyIndexPath(p.account, p.region, p.id)
	var ixRev int64
	switch ix, err := st.Get(ctx, ip); {
	case err == nil:
		ixRev = ix.ModRev
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	kv, err := st.Get(ctx, kp)
	if errors.Is(err, store.ErrNotFound) {
		if ixRev == 0 {
			return nil
		}
		_, err := st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: kp}, {Key: ip, ModRev: ixRev}}, Deletes: []string{ip}})
		return err
	}
	if err != nil {
		return err
	}
	if ixRev >= kv.ModRev {
		// Written with the key record, or by a repair since: current.
		return nil
	}
	rec, err := decodeKeyRecord(kv.Value)
	if err != nil {
		// Not served, indexed or not; a write of the key repairs it.
		return nil
	}
	if rec.PolicyRef != "" {
		// The document tells whether the policy is bound (indexOf).
		doc, err := st.Get(ctx, policyDocPath(p.account, p.region, rec.PolicyRef))
		switch {
		case err == nil && policyRef(string(doc.Value)) == rec.PolicyRef:
			rec.Policy = string(doc.Value)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	_, err = st.Txn(ctx, store.Txn{
		Compares: []store.Compare{{Key: kp, ModRev: kv.ModRev}, {Key: ip, ModRev: ixRev}},
		Puts:     []store.KV{{Key: ip, Value: indexOf(&rec).marshal()}},
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("kms: write the index record of %s: %w", kp, err)
	}
	return err
}
