package iam

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// Last use of access keys and roles, as GetAccessKeyLastUsed and GetRole's
// RoleLastUsed report it. AWS itself reports these approximately; Trent keeps
// them in memory (the request path does no store I/O), updating an entry at
// most once a minute, and writes what changed to the store once a minute.

const (
	lastUsedPrefix = "iam/lastused/"
	useResolution  = time.Minute
)

type use struct {
	At      time.Time `json:"at"`
	Service string    `json:"service,omitempty"`
	Region  string    `json:"region,omitempty"`
}

type usage struct {
	mu    sync.Mutex
	uses  map[string]use // access key id, or "role/<account>/<lower name>"
	dirty map[string]bool
}

func roleUseKey(account, name string) string { return "role/" + entityIndex(account, name) }

func (d *Directory) noteUse(id string, u use) {
	d.uses.mu.Lock()
	defer d.uses.mu.Unlock()
	if old, ok := d.uses.uses[id]; ok && u.At.Sub(old.At) < useResolution {
		return
	}
	if d.uses.uses == nil {
		d.uses.uses, d.uses.dirty = map[string]use{}, map[string]bool{}
	}
	d.uses.uses[id] = u
	d.uses.dirty[id] = true
}

// lastUse returns the last recorded use, from memory or the store.
func (d *Directory) lastUse(ctx context.Context, id string) (use, bool) {
	d.uses.mu.Lock()
	u, ok := d.uses.uses[id]
	d.uses.mu.Unlock()
	if ok {
		return u, true
	}
	kv, err := d.st.Get(ctx, lastUsedPrefix+id)
	if err != nil {
		return use{}, false
	}
	if json.Unmarshal(kv.Value, &u) != nil {
		return use{}, false
	}
	d.noteUse(id, u)
	return u, true
}

// flushUses writes the uses recorded since the last flush.
func (d *Directory) flushUses(ctx context.Context) error {
	d.uses.mu.Lock()
	var txn store.Txn
	for id := range d.uses.dirty {
		txn.Puts = append(txn.Puts, store.KV{Key: lastUsedPrefix + id, Value: mustJSON(d.uses.uses[id])})
	}
	d.uses.dirty = map[string]bool{}
	d.uses.mu.Unlock()
	if len(txn.Puts) == 0 {
		return nil
	}
	_, err := d.st.Txn(ctx, txn)
	if errors.Is(err, store.ErrClosed) {
		return nil
	}
	return err
}
