package etcd

import (
	"bytes"
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trentkms/trent/internal/store"
)

var (
	_ store.Scanner     = (*Store)(nil)
	_ store.SkipScanner = (*Store)(nil)
)

// scanPage is how many records one request of a scan (or a Range) reads: a
// node's start holds one page, not the whole range; the pages are read at
// the revision of the first, so together they are one snapshot. A variable
// so that tests can make it small.
var scanPage int64 = 1000

// scanFetched, when not nil, is told how many records each request of a
// scan brought back: tests count what a skip kept off the network.
var scanFetched func(n int)

// Scan calls fn with every record under prefix that keep accepts (nil: all),
// in key order, reading the range a page at a time (store.Scanner).
func (s *Store) Scan(ctx context.Context, prefix string, keep func(key []byte) bool, fn func(kv store.KV) error) (int64, error) {
	return s.ScanSkip(ctx, prefix, keep, nil, fn)
}

// ScanSkip is Scan that, after keep refuses a key k, goes on at skip(k)
// when that is after k (store.SkipScanner): the records in between are
// not looked at, and the next page is requested from there, so a refused
// run longer than what is left of a page is never fetched.
//
// Every page after the first is read at the first page's revision, so fn
// sees one snapshot whatever is written meanwhile, and the revision
// returned is that one. If etcd compacts that revision before the last page
// is read, ScanSkip returns store.ErrCompacted, having called fn with part
// of the range: the caller starts again from nothing (store.Follower.Load
// does). It does not restart by itself, because fn's effects of the
// abandoned attempt (records since deleted) would stay mixed into the
// second.
//
// kv.Value is the response's own memory, never reused by the client, but
// fn must still copy what it keeps: the contract lends it for the call
// only, as store/bolt's memory map does.
func (s *Store) ScanSkip(ctx context.Context, prefix string, keep func(key []byte) bool, skip func(key []byte) []byte, fn func(kv store.KV) error) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	from := s.prefix + prefix
	end := clientv3.GetPrefixRangeEnd(from)
	var rev int64
	var seek []byte // a skip's target, store key: records before it are passed over
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(scanPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, from, opts...)
		if err != nil {
			return 0, s.wrap("read "+prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		if scanFetched != nil {
			scanFetched(len(resp.Kvs))
		}
		for _, k := range resp.Kvs {
			key := k.Key[len(s.prefix):]
			if seek != nil && bytes.Compare(key, seek) < 0 {
				continue
			}
			seek = nil
			if keep != nil && !keep(key) {
				seek = store.SkipTarget(skip, key)
				continue
			}
			if err := fn(s.kv(k)); err != nil {
				return 0, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		last := resp.Kvs[len(resp.Kvs)-1].Key
		if seek != nil && bytes.Compare(s.keyOf(seek), last) > 0 {
			// The refused run goes on past this page: fetch none of it.
			from = string(s.keyOf(seek))
			if from >= end {
				return rev, nil
			}
		} else {
			from = string(last) + "\x00"
		}
	}
}

// keyOf is the etcd key of store key k.
func (s *Store) keyOf(k []byte) []byte {
	return append([]byte(s.prefix), k...)
}
