// Package usage keeps the last cryptographic use of every KMS key in the
// store, so that GetKeyLastUsage answers the same on every node of a
// cluster.
//
// A node notes uses in memory (the audit log's index, audit.Log.TakeUsage)
// and a Tracker writes them to the store in batches, every Options.Interval:
// one record per key that was used, usage/keys/<key ARN>, holding the latest
// use any node has written. Records are merged by maximum: a flush reads each
// record and writes only the uses that are later than it (by time, then by
// event id for two in the same second), in one transaction
// conditional on the revisions it read, retried on conflict, so two nodes
// flushing at once never make a record go back in time. LastUsage answers
// with the later of the store's record and this node's own uses (which
// include those not flushed yet).
//
// usage/tracking-start is when tracking began for the whole store: written
// once, by the first node to start (seeded with its audit file's start, when
// that is earlier, so that a deployment upgraded from per-node tracking keeps
// its date).
//
// The cost on the request path is the audit log's: a map write under a lock
// per successful cryptographic request. The store sees one transaction per
// Interval per node, whatever the request rate.
//
// # Caveats
//
// A use is in the store at most Interval after it happened (and after Run
// stops, Run flushes once more); until then only the node that served it
// reports it. A node that crashes loses its unflushed uses from the store,
// but they are in its audit file, which the audit log reads again on the next
// start, so they are flushed then. A deleted key's record stays behind; it
// names a key id that is never reused.
//
// # Concurrency
//
// A *Tracker is safe for concurrent use. Run must run in one goroutine,
// started and stopped by its caller.
package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/store"
)

const (
	keysPrefix       = "usage/keys/"
	trackingStartKey = "usage/tracking-start"
	// batchSize bounds the keys one transaction writes: within etcd's
	// default --max-txn-ops (128), counting a compare and a put per key.
	batchSize = 64
	// maxConflicts is how often a batch is retried when another node wrote
	// one of its records meanwhile.
	maxConflicts = 8
)

// Source is this node's record of uses: *audit.Log.
type Source interface {
	// TakeUsage returns the uses noted since its previous call.
	TakeUsage(empty map[string]audit.Usage) map[string]audit.Usage
	// LastUsage is this node's last noted use of a key.
	LastUsage(keyARN string) (audit.Usage, bool)
	// TrackingStart is when this node's audit file began.
	TrackingStart() time.Time
}

var _ Source = (*audit.Log)(nil)

// Options are a Tracker's optional settings.
type Options struct {
	Interval time.Duration    // between flushes; 0: 10 s
	Node     string           // written into records, for operators
	Log      *slog.Logger     // nil: slog.Default()
	Now      func() time.Time // nil: time.Now
}

// DefaultInterval is the flush interval when Options.Interval is 0.
const DefaultInterval = 10 * time.Second

// Tracker writes a node's key uses to the store and answers from it.
type Tracker struct {
	st       store.Store
	src      Source
	interval time.Duration
	node     string
	log      *slog.Logger
	start    time.Time

	// spare is the map TakeUsage gets back; retry holds uses a failed flush
	// could not write. Both are owned by the flushing goroutine (Flush is
	// serialized by flushMu).
	flushMu chan struct{}
	spare   map[string]audit.Usage
	retry   map[string]audit.Usage
}

// record is the stored form of a use.
type record struct {
	Operation string    `json:"operation"`
	Time      time.Time `json:"time"`
	EventID   string    `json:"eventId"`
	RequestID string    `json:"requestId,omitempty"`
	Node      string    `json:"node,omitempty"`
}

// New returns a Tracker, reading (or, on the first start of a store,
// writing) when tracking began.
func New(ctx context.Context, st store.Store, src Source, o Options) (*Tracker, error) {
	t := &Tracker{st: st, src: src, interval: o.Interval, node: o.Node, log: o.Log, flushMu: make(chan struct{}, 1)}
	if t.interval <= 0 {
		t.interval = DefaultInterval
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	start, err := trackingStart(ctx, st, src.TrackingStart(), now().UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	t.start = start
	return t, nil
}

// trackingStart reads the store's tracking start, or writes the earlier of
// seed (the audit file's start) and now if there is none yet; of nodes
// starting at once, the first write wins and the others read it.
func trackingStart(ctx context.Context, st store.Store, seed, now time.Time) (time.Time, error) {
	for range maxConflicts {
		kv, err := st.Get(ctx, trackingStartKey)
		if err == nil {
			var t time.Time
			if err := t.UnmarshalText(kv.Value); err != nil {
				return time.Time{}, fmt.Errorf("usage: %s: %w", trackingStartKey, err)
			}
			return t, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return time.Time{}, fmt.Errorf("usage: %w", err)
		}
		t := now
		if !seed.IsZero() && seed.Before(now) {
			t = seed.UTC()
		}
		v, _ := t.MarshalText()
		_, err = st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: trackingStartKey}}, Puts: []store.KV{{Key: trackingStartKey, Value: v}}})
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return time.Time{}, fmt.Errorf("usage: %w", err)
		}
	}
	return time.Time{}, errors.New("usage: tracking start: too many conflicts")
}

// TrackingStart is when key use tracking began for the store.
func (t *Tracker) TrackingStart() time.Time { return t.start }

// LastUsage returns the later of the store's record of a key's last use and
// this node's own.
func (t *Tracker) LastUsage(ctx context.Context, keyARN string) (audit.Usage, bool, error) {
	local, ok := t.src.LastUsage(keyARN)
	kv, err := t.st.Get(ctx, keysPrefix+keyARN)
	if errors.Is(err, store.ErrNotFound) {
		return local, ok, nil
	}
	if err != nil {
		return audit.Usage{}, false, fmt.Errorf("usage: %w", err)
	}
	var r record
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return audit.Usage{}, false, fmt.Errorf("usage: %s: %w", kv.Key, err)
	}
	stored := audit.Usage{Operation: r.Operation, Time: r.Time, EventID: r.EventID, RequestID: r.RequestID}
	if ok && !later(stored, local) {
		return local, true, nil
	}
	return stored, true, nil
}

// later orders uses: by time, and two in the same second (events are dated to
// the second) by event id, so that every node picks the same one.
func later(a, b audit.Usage) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.EventID > b.EventID
}

// Run flushes every interval until ctx ends, then once more (bounded), so
// that a node stopping leaves its last uses in the store. It returns
// ctx.Err(); a failed flush is logged and its uses retried next time.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := t.Flush(fctx); err != nil && !errors.Is(err, store.ErrClosed) {
				t.log.Error("usage: last flush", "err", err)
			}
			return ctx.Err()
		case <-tick.C:
			if err := t.Flush(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("usage: flush", "err", err)
			}
		}
	}
}

// Flush writes the uses noted since the last flush to the store, merged by
// maximum with what other nodes wrote. Uses it could not write are kept for
// the next Flush. Concurrent calls run one after the other.
func (t *Tracker) Flush(ctx context.Context) error {
	select {
	case t.flushMu <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.flushMu }()
	taken := t.src.TakeUsage(t.spare)
	for arn, u := range t.retry {
		if cur, ok := taken[arn]; !ok || later(u, cur) {
			taken[arn] = u
		}
	}
	t.retry = nil
	batch := make([]string, 0, batchSize)
	var errs []error
	flushBatch := func() {
		if err := t.write(ctx, batch, taken); err != nil {
			errs = append(errs, err)
			if t.retry == nil {
				t.retry = map[string]audit.Usage{}
			}
			for _, arn := range batch {
				t.retry[arn] = taken[arn]
			}
		}
		batch = batch[:0]
	}
	for arn := range taken {
		batch = append(batch, arn)
		if len(batch) == batchSize {
			flushBatch()
		}
	}
	if len(batch) > 0 {
		flushBatch()
	}
	clear(taken)
	t.spare = taken
	return errors.Join(errs...)
}

// write stores the uses of the keys in arns that are later than the store's,
// in one transaction conditional on the records read, retried on conflict.
func (t *Tracker) write(ctx context.Context, arns []string, uses map[string]audit.Usage) error {
	for range maxConflicts {
		var txn store.Txn
		for _, arn := range arns {
			u := uses[arn]
			key := keysPrefix + arn
			kv, err := t.st.Get(ctx, key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				txn.Compares = append(txn.Compares, store.Compare{Key: key})
			case err != nil:
				return fmt.Errorf("usage: %w", err)
			default:
				var r record
				if json.Unmarshal(kv.Value, &r) == nil && !later(u, audit.Usage{Time: r.Time, EventID: r.EventID}) {
					continue // the store already has this use or a later one
				}
				txn.Compares = append(txn.Compares, store.Compare{Key: key, ModRev: kv.ModRev})
			}
			v, err := json.Marshal(record{Operation: u.Operation, Time: u.Time.UTC(), EventID: u.EventID, RequestID: u.RequestID, Node: t.node})
			if err != nil {
				return err
			}
			txn.Puts = append(txn.Puts, store.KV{Key: key, Value: v})
		}
		if len(txn.Puts) == 0 {
			return nil
		}
		_, err := t.st.Txn(ctx, txn)
		if !errors.Is(err, store.ErrConflict) {
			if err != nil {
				return fmt.Errorf("usage: %w", err)
			}
			return nil
		}
	}
	return errors.New("usage: too many conflicting writes")
}
