package etcd

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trentkms/trent/internal/store"
)

var _ store.Pager = (*Store)(nil)

// Page reads up to limit records under prefix after the key after, in one
// linearizable range request.
func (s *Store) Page(ctx context.Context, prefix, after string, limit int) ([]store.KV, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	from := s.prefix + prefix
	if after >= prefix {
		// The first key after after: after with a zero byte appended.
		from = s.prefix + after + "\x00"
	}
	resp, err := s.cli.Get(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.prefix+prefix)), clientv3.WithLimit(int64(limit)))
	if err != nil {
		return nil, s.wrap("range "+prefix, err)
	}
	out := make([]store.KV, 0, len(resp.Kvs))
	for _, k := range resp.Kvs {
		out = append(out, s.kv(k))
	}
	return out, nil
}
