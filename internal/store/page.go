package store

import (
	"context"
	"sort"
)

// Pager is implemented by stores that can read part of a range: a long job
// that walks the whole store (root key rotation) reads it a page at a time
// and so never holds a copy of every record.
type Pager interface {
	// Page returns up to limit records whose keys start with prefix and
	// sort after after ("": from the first), in key order, each as
	// current as the store is when it is read.
	Page(ctx context.Context, prefix, after string, limit int) ([]KV, error)
}

// Page reads a page of records as Pager does; a store that is not a Pager
// is read whole and cut.
func Page(ctx context.Context, st Store, prefix, after string, limit int) ([]KV, error) {
	if p, ok := st.(Pager); ok {
		return p.Page(ctx, prefix, after, limit)
	}
	kvs, _, err := st.Range(ctx, prefix)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(kvs), func(i int) bool { return kvs[i].Key > after })
	kvs = kvs[i:]
	if len(kvs) > limit {
		kvs = kvs[:limit]
	}
	return kvs, nil
}
