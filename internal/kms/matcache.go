package kms

import (
	"sync"
	"sync/atomic"

	"github.com/trentkms/trent/internal/keys"
)

// The view holds key material sealed, as the store has it, and unseals a
// version on its first use into a bounded cache: memory then grows with the
// keys in use, not with every key, and loading does no cryptography. An
// unsealed symmetric key (AES-GCM state included) takes about 1 KB; its
// sealed form about 60 bytes.

// DefaultMaterialCache is how many unsealed material versions the view
// keeps when Options.MaterialCache is 0.
const DefaultMaterialCache = 100_000

// matEntry is one version of a key's material as the view holds it.
type matEntry struct {
	id      keys.MaterialID
	account string // for the sealing AAD
	rec     materialRecord
	// open is the unsealed material while it is in the cache; pinned
	// material (in a custom key store's token: a handle, no key bytes)
	// stays open and out of the cache.
	open   atomic.Pointer[openMaterial]
	pinned bool
	// used is set by every use and cleared by the cache's clock hand: an
	// entry not used for a whole turn of the hand is evicted.
	used atomic.Bool
	// dead: the view dropped the entry (its key evicted, its record
	// replaced or deleted); material a request unseals for it afterwards
	// is used by that request only and retired, never cached (drop).
	dead bool // guarded by matCache.mu
}

type openMaterial struct{ m keys.Material }

// find returns the entry of material id among a key's entries, or nil.
func find(es []*matEntry, id keys.MaterialID) *matEntry {
	for _, e := range es {
		if e.id == id {
			return e
		}
	}
	return nil
}

// matCache bounds the unsealed material: a CLOCK ring of the open entries.
// A hit only sets the entry's used bit (no lock); a miss takes the lock to
// add the entry and, when full, evict one not used since the hand last
// passed it.
//
// Evicted material is retired (keys.Retire), not destroyed: a request that
// took it just before stays correct, and its key bytes are cleared once no
// request holds it.
type matCache struct {
	mu   sync.Mutex
	ring []*matEntry
	hand int
	max  int
}

// add makes m the open material of e, or returns what another goroutine
// opened first (retiring m).
func (c *matCache) add(e *matEntry, m keys.Material) keys.Material {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := e.open.Load(); o != nil {
		keys.Retire(m)
		return o.m
	}
	if e.dead {
		keys.Retire(m)
		return m
	}
	e.open.Store(&openMaterial{m: m})
	e.used.Store(true)
	c.ring = append(c.ring, e)
	for len(c.ring) > c.max {
		c.evictOne()
	}
	return m
}

// drop marks an entry the view no longer holds as dead and returns its
// open material, if any, for the caller to retire or destroy: an entry
// dropped while a request was about to unseal it must not come back into
// the cache, where nothing would reach it any more.
func (c *matCache) drop(e *matEntry) keys.Material {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.dead = true
	if o := e.open.Swap(nil); o != nil {
		return o.m
	}
	return nil
}

// evictOne advances the hand to an entry not used since its last pass, or
// one already closed, and drops it from the ring.
func (c *matCache) evictOne() {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		if e.open.Load() != nil && e.used.Swap(false) {
			c.hand++
			continue
		}
		last := len(c.ring) - 1
		c.ring[c.hand], c.ring[last] = c.ring[last], nil
		c.ring = c.ring[:last]
		if o := e.open.Swap(nil); o != nil {
			keys.Retire(o.m)
		}
		return
	}
}

// reset retires every open material, for a view that starts over.
func (c *matCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.ring {
		if o := e.open.Swap(nil); o != nil {
			keys.Retire(o.m)
		}
	}
	clear(c.ring)
	c.ring, c.hand = c.ring[:0], 0
}

// size is how many material versions are unsealed, for tests and metrics.
func (c *matCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring)
}
