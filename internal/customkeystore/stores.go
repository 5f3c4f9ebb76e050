package customkeystore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Host is what the key stores need of the KMS service that holds them: its
// writes, which it acknowledges once its view shows them, and its keys.
type Host interface {
	// Commit writes txn and returns once this node's view shows it.
	Commit(ctx context.Context, txn store.Txn) error
	// CommitNew writes txn, which creates a store of account and region,
	// counted against their quota of custom key stores.
	CommitNew(ctx context.Context, account, region string, txn store.Txn) error
	// KeyIn returns the ARN of a KMS key in store id of account and region
	// (backed by the external key xksKeyID, if that is not empty), or "".
	KeyIn(account, region, id, xksKeyID string) string
}

// Caller is who asks: an account and Region, and for the proxy's request
// metadata the principal and request id.
type Caller struct {
	Account, Region, ARN, RequestID string
}

// Options are the optional dependencies of Stores.
type Options struct {
	// Clusters are the HSM tokens AWS CloudHSM key stores can use; nil:
	// none.
	Clusters keystore.Clusters
	Now      func() time.Time // nil: time.Now
	Rand     io.Reader        // the source of store ids; required
	Log      *slog.Logger     // nil: slog.Default()
	// NewID makes a random request id for proxy calls with no request
	// behind them; required.
	NewID func() (string, error)
}

// Stores are the custom key stores of every account, as the host's view of
// the store has their records, and this node's connections to them.
type Stores struct {
	st       store.Store
	sealer   *seal.Sealer
	host     Host
	clusters keystore.Clusters
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	newID    func() (string, error)

	mu    sync.RWMutex
	recs  map[ref]*Record
	conns map[ref]*Conn
}

// ref indexes records and connections by Region and store id.
type ref struct{ region, id string }

// New returns the key stores of st, whose secrets sealer seals.
func New(st store.Store, sealer *seal.Sealer, host Host, o Options) (*Stores, error) {
	if st == nil || sealer == nil || host == nil || o.Rand == nil || o.NewID == nil {
		return nil, errors.New("customkeystore: New needs a store, a sealer, a host, Rand and NewID")
	}
	s := &Stores{st: st, sealer: sealer, host: host, clusters: o.Clusters, now: o.Now, rand: o.Rand, log: o.Log, newID: o.NewID,
		recs: map[ref]*Record{}, conns: map[ref]*Conn{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Put follows a record written under Path(…, region, id).
func (s *Stores) Put(region, id string, value []byte) error {
	var rec Record
	if err := json.Unmarshal(value, &rec); err != nil {
		return fmt.Errorf("customkeystore: undecodable record: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[ref{region, id}] = &rec
	s.connLocked(region, id)
	return nil
}

// Remove follows a deleted record. The connection stays: keys may name it.
func (s *Stores) Remove(region, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, ref{region, id})
}

// Reset forgets every record, before the host's view reloads them.
// Connections stay.
func (s *Stores) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = map[ref]*Record{}
}

func (s *Stores) connLocked(region, id string) *Conn {
	r := ref{region, id}
	c := s.conns[r]
	if c == nil {
		c = &Conn{}
		s.conns[r] = c
	}
	return c
}

// Conn returns the connection of a store, making it on first use.
func (s *Stores) Conn(region, id string) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connLocked(region, id)
}

// Get returns a store of an account and Region, or nil. The record is
// shared: callers must not change it.
func (s *Stores) Get(account, region, id string) *Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.recs[ref{region, id}]
	if r == nil || r.Account != account {
		return nil
	}
	return r
}

// list returns the stores of an account and Region, by id; every store if
// account is empty.
func (s *Stores) list(account, region string) []*Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Record
	for _, r := range s.recs {
		if account == "" || (r.Account == account && r.Region == region) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Count is the number of stores of an account and Region.
func (s *Stores) Count(account, region string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, r := range s.recs {
		if r.Account == account && r.Region == region {
			n++
		}
	}
	return n
}

// State is a store as a readiness probe reports it.
type State struct {
	ID, Account, Region, Type string
	// State is the ConnectionState of the record (CONNECTED, DISCONNECTED
	// or FAILED); Connected says whether this node holds a connection.
	State     string
	Connected bool
}

// States returns every store of every account, by id.
func (s *Stores) States() []State {
	var out []State
	for _, r := range s.list("", "") {
		out = append(out, State{ID: r.ID, Account: r.Account, Region: r.Region, Type: r.Type, State: r.State,
			Connected: s.Conn(r.Region, r.ID).Connected()})
	}
	return out
}

// Usage returns the ids of an account's stores by Region.
func (s *Stores) Usage(account string) map[string][]string {
	out := map[string][]string{}
	for _, r := range s.list("", "") {
		if r.Account == account {
			out[r.Region] = append(out[r.Region], r.ID)
		}
	}
	return out
}

// notFound is CustomKeyStoreNotFoundException for an id or name.
func notFound(what string) error {
	return kmsapi.NewCustomKeyStoreNotFoundException("Custom key store " + what + " does not exist in this account and Region.")
}

func notDisconnected(r *Record) error {
	return kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is " + r.State + "; this operation requires it to be DISCONNECTED.")
}

func notConnected(r *Record) error {
	return kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not connected.")
}

func nameInUse(name string) error {
	return kmsapi.NewCustomKeyStoreNameInUseException("Custom key store name " + name + " is already in use in this account and Region.")
}

func (s *Stores) newStoreID() (string, error) {
	var b [9]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	// cks- and 17 hex digits, as AWS's ids (cks-1234567890abcdef0).
	return "cks-" + hex.EncodeToString(b[:])[:17], nil
}

func (s *Stores) nameTaken(account, region, name, except string) bool {
	for _, r := range s.list(account, region) {
		if r.Name == name && r.ID != except {
			return true
		}
	}
	return false
}

// create writes the record of a new store, counted against the quota.
func (s *Stores) create(ctx context.Context, rec *Record) error {
	p := Path(rec.Account, rec.Region, rec.ID)
	return s.host.CommitNew(ctx, rec.Account, rec.Region, store.Txn{Compares: []store.Compare{{Key: p}}, Puts: []store.KV{{Key: p, Value: marshal(rec)}}})
}

// update writes a changed copy of a store's record, conditional on the
// record not having changed since it was read.
func (s *Stores) update(ctx context.Context, r *Record, fn func(*Record)) error {
	p := Path(r.Account, r.Region, r.ID)
	kv, err := s.st.Get(ctx, p)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(r.ID)
	}
	if err != nil {
		return err
	}
	var cur Record
	if err := json.Unmarshal(kv.Value, &cur); err != nil {
		return fmt.Errorf("custom key store %s: %w", r.ID, err)
	}
	fn(&cur)
	return s.host.Commit(ctx, store.Txn{Compares: []store.Compare{{Key: p, ModRev: kv.ModRev}}, Puts: []store.KV{{Key: p, Value: marshal(&cur)}}})
}

// login connects this node to a store: opens its token with its password,
// or makes its proxy's client after a health check. The caller holds
// conn.mu.
func (s *Stores) login(ctx context.Context, r *Record, conn *Conn) error {
	if r.Type == TypeExternal {
		return s.xksLogin(ctx, r, conn)
	}
	if s.clusters == nil || !s.clusters.Has(r.ClusterID) {
		return keystore.ErrClusterNotFound
	}
	pw, err := s.sealer.Open(r.Password, PasswordAAD(r.Account, r.Region, r.ID))
	if err != nil {
		return fmt.Errorf("custom key store %s: password: %w", r.ID, err)
	}
	defer clear(pw)
	tok, err := s.clusters.Open(ctx, r.ClusterID, string(pw))
	if err != nil {
		return err
	}
	conn.tok.Store(&tok)
	return nil
}

// Reconnect makes this node's connections follow the store records: log in
// to stores recorded CONNECTED (after a restart, or connected on another
// node) and out of the others. The host calls it at start and periodically.
func (s *Stores) Reconnect(ctx context.Context) error {
	var errs []error
	for _, r := range s.list("", "") {
		conn := s.Conn(r.Region, r.ID)
		conn.mu.Lock()
		switch {
		case r.State == Connected && !conn.Connected():
			if err := s.login(ctx, r, conn); err != nil {
				errs = append(errs, fmt.Errorf("custom key store %s: connect: %w", r.ID, err))
			}
		case r.State != Connected && conn.Connected():
			errs = append(errs, conn.close())
		}
		conn.mu.Unlock()
	}
	return errors.Join(errs...)
}
