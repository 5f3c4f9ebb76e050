package trace

import (
	"context"
	"errors"

	"github.com/trentkms/trent/internal/store"
)

// Store wraps st so that each Txn made with a traced context is a span,
// store.Txn, naming how many records it compares, puts and deletes, and the
// revision it committed or its conflict. Keys and values are not recorded.
// trent serve wraps its store only when tracing is on.
func Store(st store.Store) store.Store { return tracedStore{st} }

type tracedStore struct{ store.Store }

func (t tracedStore) Txn(ctx context.Context, txn store.Txn) (int64, error) {
	ctx, sp := Start(ctx, "store.Txn")
	if !sp.Recording() {
		return t.Store.Txn(ctx, txn)
	}
	defer sp.End()
	sp.Int("trent.store.compares", len(txn.Compares))
	sp.Int("trent.store.puts", len(txn.Puts))
	sp.Int("trent.store.deletes", len(txn.Deletes))
	rev, err := t.Store.Txn(ctx, txn)
	switch {
	case errors.Is(err, store.ErrConflict):
		sp.Fail("Conflict")
	case err != nil:
		sp.Fail("StoreError")
	default:
		sp.Int("trent.store.revision", int(rev))
	}
	return rev, err
}
