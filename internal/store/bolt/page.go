package bolt

import (
	"bytes"
	"context"

	"go.etcd.io/bbolt"

	"github.com/trentkms/trent/internal/store"
)

var _ store.Pager = (*DB)(nil)

// Page reads up to limit records under prefix after the key after, in one
// read transaction.
func (d *DB) Page(ctx context.Context, prefix, after string, limit int) ([]store.KV, error) {
	var out []store.KV
	err := d.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(kvBucket).Cursor()
		p := []byte(prefix)
		start := p
		if after >= prefix {
			start = []byte(after)
		}
		k, v := c.Seek(start)
		if k != nil && after != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, v = c.Next() {
			out = append(out, decode(k, v))
		}
		return ctx.Err()
	})
	return out, d.wrap(err)
}
