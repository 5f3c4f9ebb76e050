package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/trentkms/trent/internal/store"
)

// DefaultPrefix is where Trent keeps its records when Options.Prefix is empty.
const DefaultPrefix = "/trent/"

// Options configure Open. The zero value reaches a plaintext etcd without
// authentication and keeps records under DefaultPrefix.
type Options struct {
	// Prefix is prepended to every key, so that one etcd cluster can hold
	// other data or several Trent clusters. Empty: DefaultPrefix. A prefix
	// should end in "/" so that "/trent" does not also cover "/trent2".
	Prefix string
	// DialTimeout bounds connecting and the check Open makes that the
	// cluster answers. 0: 5 seconds.
	DialTimeout time.Duration
	// TLS, if not nil, makes every connection TLS.
	TLS *TLSFiles
	// Username and Password authenticate to etcd (etcd's auth must be
	// enabled and the user's role must allow read and write on Prefix).
	Username, Password string
	// Logger receives the etcd client's own log. nil: no client log.
	Logger *zap.Logger
}

// TLSFiles name PEM files for TLS to etcd.
type TLSFiles struct {
	CA   string // CA bundle that signed the servers' certificates; empty: the system roots
	Cert string // client certificate for mutual TLS; empty: none
	Key  string // its private key; set with Cert
}

// Store is a store.Store on an etcd v3 cluster.
type Store struct {
	cli    *clientv3.Client
	prefix string
	closed atomic.Bool
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Progress = (*Store)(nil)
)

// Open connects to the etcd cluster at endpoints ("host:port", or a URL
// with an http or https scheme) and checks, within the dial timeout, that
// it answers a read of the prefix.
func Open(ctx context.Context, endpoints []string, o Options) (*Store, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: o.DialTimeout,
		Username:    o.Username,
		Password:    o.Password,
		Logger:      o.Logger,
		// Without keepalives a watch on a dead connection would wait
		// forever instead of moving to another endpoint.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		// gRPC's default reconnection backoff grows to two minutes, so a
		// node would stay fenced (internal/health) that long after etcd
		// came back; reconnect within a couple of seconds instead.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: o.DialTimeout,
		})},
	}
	if o.TLS != nil {
		if (o.TLS.Cert == "") != (o.TLS.Key == "") {
			return nil, errors.New("etcd: a client certificate and its key go together")
		}
		info := transport.TLSInfo{CertFile: o.TLS.Cert, KeyFile: o.TLS.Key, TrustedCAFile: o.TLS.CA}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd: TLS: %w", err)
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(endpoints, ","), err)
	}
	s := &Store{cli: cli, prefix: o.Prefix}
	pctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	if _, err := cli.Get(pctx, s.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd: read %s at %s: %w", s.prefix, strings.Join(endpoints, ","), err)
	}
	return s, nil
}

func (s *Store) kv(k *mvccpb.KeyValue) store.KV {
	v := k.Value
	if v == nil {
		// As bolt: a record's value is never nil, even when empty.
		v = []byte{}
	}
	return store.KV{Key: strings.TrimPrefix(string(k.Key), s.prefix), Value: v, CreateRev: k.CreateRevision, ModRev: k.ModRevision}
}

// Get returns the record at key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if s.closed.Load() {
		return store.KV{}, store.ErrClosed
	}
	resp, err := s.cli.Get(ctx, s.prefix+key)
	if err != nil {
		return store.KV{}, s.wrap("get "+key, err)
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, store.ErrNotFound
	}
	return s.kv(resp.Kvs[0]), nil
}

// Range returns the records under prefix in key order and the revision they
// were read at: etcd's revision, cluster-wide, of the first page. Later
// pages are read at that revision, so the result is one snapshot; if the
// revision is compacted between pages Range returns store.ErrCompacted and
// may be retried.
func (s *Store) Range(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	// The client never reuses a response's memory: the records can be kept.
	var out []store.KV
	rev, err := s.Scan(ctx, prefix, nil, func(kv store.KV) error {
		out = append(out, kv)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, rev, nil
}

// Txn applies t in one etcd transaction: its compares become mod_revision
// compares, its puts and deletes the transaction's operations.
//
// etcd refuses a transaction that names a key twice, so Txn first folds t
// the way store/bolt applies it: deletes first, then puts in order, so a
// put of a key also deleted wins and the last of several puts of one key
// wins. Like bolt, deleting a missing key changes nothing, and a Txn that
// changes nothing returns the current revision.
//
// The change is durable when Txn returns nil: etcd acknowledges a write once
// a quorum of members has it in its fsynced log. A Txn that returns an error
// other than store.ErrConflict, such as a deadline, may or may not have been
// applied; read again before retrying.
func (s *Store) Txn(ctx context.Context, t store.Txn) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cmps := make([]clientv3.Cmp, 0, len(t.Compares))
	for _, c := range t.Compares {
		// An absent key has mod_revision 0 in etcd's compare, so ModRev 0
		// means "must not exist" as the store contract says.
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.prefix+c.Key), "=", c.ModRev))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(s.ops(t)...).Commit()
	if err != nil {
		return 0, s.wrap("txn", err)
	}
	if !resp.Succeeded {
		return 0, store.ErrConflict
	}
	return resp.Header.Revision, nil
}

// ops folds t's puts and deletes into at most one operation per key, deletes
// first, then puts in the order of their first appearance with their last
// value: the order the events of the revision will have.
func (s *Store) ops(t store.Txn) []clientv3.Op {
	last := make(map[string][]byte, len(t.Puts))
	for _, p := range t.Puts {
		last[p.Key] = p.Value
	}
	ops := make([]clientv3.Op, 0, len(t.Puts)+len(t.Deletes))
	deleted := make(map[string]bool, len(t.Deletes))
	for _, k := range t.Deletes {
		if _, put := last[k]; put || deleted[k] {
			continue
		}
		deleted[k] = true
		ops = append(ops, clientv3.OpDelete(s.prefix+k))
	}
	for _, p := range t.Puts {
		v, ok := last[p.Key]
		if !ok {
			continue // already emitted
		}
		delete(last, p.Key)
		ops = append(ops, clientv3.OpPut(s.prefix+p.Key, string(v)))
	}
	return ops
}

// Close closes the client. Watches end with store.ErrClosed; every later
// call returns store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.cli.Close()
}

// wrap gives err the operation's name, and reports the errors of a closed
// client as store.ErrClosed.
func (s *Store) wrap(op string, err error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("etcd %s: %w", op, store.ErrCompacted)
	}
	return fmt.Errorf("etcd %s: %w", op, err)
}
