package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/storetest"
	"github.com/trentkms/trent/internal/testserver"
)

// endpoint is the client URL of the etcd server TestMain runs for every test
// of the package; each test keeps its records under its own prefix.
var endpoint string

func TestMain(m *testing.M) {
	code, err := runWithEtcd(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded etcd:", err)
		code = 1
	}
	testserver.Cleanup()
	os.Exit(code)
}

func runWithEtcd(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "trent-etcd-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	e, err := startEtcd(dir)
	if err != nil {
		return 0, err
	}
	defer e.Close()
	endpoint = e.Clients[0].Addr().String()
	return m.Run(), nil
}

// startEtcd runs a one-member etcd cluster on free loopback ports, small
// enough for a shared test machine.
func startEtcd(dir string) (*embed.Etcd, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "trent-test"
	cfg.Dir = dir
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Its shutdown logs errors about closed listeners: keep the test output clean.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.SnapshotCount = 1000
	cfg.SnapshotCatchUpEntries = 100
	cfg.QuotaBackendBytes = 64 << 20
	cfg.TickMs, cfg.ElectionMs = 10, 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, errors.New("not ready within 30s")
	}
}

// freePorts finds n loopback ports free now (embed cannot listen on port 0).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var (
	prefixMu sync.Mutex
	prefixes = map[*testing.T]string{}
)

// prefixOf is the etcd prefix of t's records: its own, even when the test
// runs again (-count) on the same etcd.
func prefixOf(t *testing.T) string {
	prefixMu.Lock()
	defer prefixMu.Unlock()
	if p, ok := prefixes[t]; ok {
		return p
	}
	p := fmt.Sprintf("/test/%s/%d/", t.Name(), len(prefixes))
	prefixes[t] = p
	return p
}

// open connects a Store ("a node") to the test etcd under the test's
// prefix (or prefixOf(t)+sub, if given), closed when the test ends.
func open(t *testing.T, sub ...string) *Store {
	t.Helper()
	p := prefixOf(t)
	if len(sub) > 0 {
		p += sub[0]
	}
	s, err := Open(context.Background(), []string{endpoint}, Options{Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, s store.Store, kvs ...string) int64 {
	t.Helper()
	var txn store.Txn
	for i := 0; i < len(kvs); i += 2 {
		txn.Puts = append(txn.Puts, store.KV{Key: kvs[i], Value: []byte(kvs[i+1])})
	}
	rev, err := s.Txn(ctxT(t), txn)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func next(t *testing.T, ch <-chan store.WatchResponse) store.WatchResponse {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no watch response within 5s")
	}
	panic("unreachable")
}

func TestContract(t *testing.T) {
	storetest.Run(t, open(t))
}

// The records a Range pages through are one snapshot, in key order.
func TestRangePages(t *testing.T) {
	defer func(n int64) { scanPage = n }(scanPage)
	scanPage = 2
	s := open(t)
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("r/%02d", i)
		put(t, s, k, "v")
		want = append(want, k)
	}
	put(t, s, "r0", "outside")
	kvs, rev, err := s.Range(ctxT(t), "r/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range kvs {
		got = append(got, kv.Key)
		if kv.ModRev > rev {
			t.Fatalf("record %s at %d newer than the range's revision %d", kv.Key, kv.ModRev, rev)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Range = %v, want %v", got, want)
	}
}

// Two nodes on one etcd see each other's writes: through Get at once, and
// through Watch, the way every node's in-memory views follow the cluster.
func TestTwoNodesSeeEachOther(t *testing.T) {
	a, b := open(t), open(t)
	ctx := ctxT(t)
	_, rev, err := a.Range(ctx, "k/")
	if err != nil {
		t.Fatal(err)
	}
	wa := a.Watch(ctx, "k/", rev)
	wb := b.Watch(ctx, "k/", rev)

	r1 := put(t, b, "k/1", "from b", "k/2", "also from b")
	got := next(t, wa)
	if got.Err != nil || got.Revision != r1 || len(got.Events) != 2 || got.Events[0].KV.Key != "k/1" || got.Events[1].KV.Key != "k/2" ||
		string(got.Events[1].KV.Value) != "also from b" || got.Events[0].KV.ModRev != r1 {
		t.Fatalf("a's watch = %+v, want b's txn at %d in one response", got, r1)
	}
	if kv, err := a.Get(ctx, "k/1"); err != nil || string(kv.Value) != "from b" {
		t.Fatalf("a.Get = %+v, %v", kv, err)
	}
	r2, err := a.Txn(ctx, store.Txn{Deletes: []string{"k/1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := next(t, wb); got.Revision != r1 {
		t.Fatalf("b's watch first = %+v, want its own txn at %d", got, r1)
	}
	got = next(t, wb)
	if got.Err != nil || got.Revision != r2 || len(got.Events) != 1 || got.Events[0].Type != store.Delete || got.Events[0].KV.Key != "k/1" || got.Events[0].KV.ModRev != r2 {
		t.Fatalf("b's watch = %+v, want a's delete of k/1 at %d", got, r2)
	}
}

// A node that read a record before another node changed it cannot write on
// the strength of that read.
func TestStaleCompareConflicts(t *testing.T) {
	a, b := open(t), open(t)
	ctx := ctxT(t)
	put(t, a, "x", "1")
	seen, err := a.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "x", "2")
	_, err = a.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: "x", ModRev: seen.ModRev}}, Puts: []store.KV{{Key: "x", Value: []byte("3")}, {Key: "y", Value: []byte("3")}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Txn on a stale revision: %v, want ErrConflict", err)
	}
	if kv, _ := b.Get(ctx, "x"); string(kv.Value) != "2" {
		t.Fatalf("x = %q after a failed txn, want 2", kv.Value)
	}
	if _, err := b.Get(ctx, "y"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed txn wrote y: %v", err)
	}
	// Two nodes racing to create one record: one wins.
	create := store.Txn{Compares: []store.Compare{{Key: "once"}}, Puts: []store.KV{{Key: "once", Value: []byte("v")}}}
	_, errA := a.Txn(ctx, create)
	_, errB := b.Txn(ctx, create)
	if errA != nil || !errors.Is(errB, store.ErrConflict) {
		t.Fatalf("create-if-absent twice: %v, %v; want nil, ErrConflict", errA, errB)
	}
}

// Keys live under the prefix: two prefixes on one etcd do not see each other.
func TestPrefixIsolation(t *testing.T) {
	a, b := open(t, "a/"), open(t, "a2/")
	ctx := ctxT(t)
	put(t, a, "k", "a")
	put(t, b, "k", "b")
	kvs, _, err := a.Range(ctx, "")
	if err != nil || len(kvs) != 1 || string(kvs[0].Value) != "a" || kvs[0].Key != "k" {
		t.Fatalf("a.Range = %+v, %v; want only its own k", kvs, err)
	}
	cli := rawClient(t)
	resp, err := cli.Get(ctx, prefixOf(t)+"a/k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "a" {
		t.Fatalf("etcd key %sa/k = %+v, %v", prefixOf(t), resp, err)
	}
}

func rawClient(t *testing.T) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// view is a store.Handler: the records under a prefix, as a map.
type view struct {
	mu     sync.Mutex
	kvs    map[string]string
	resets int
}

func (v *view) Reset(kvs []store.KV, rev int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.kvs = map[string]string{}
	for _, kv := range kvs {
		v.kvs[kv.Key] = string(kv.Value)
	}
	v.resets++
}

func (v *view) Apply(r store.WatchResponse) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range r.Events {
		if e.Type == store.Delete {
			delete(v.kvs, e.KV.Key)
		} else {
			v.kvs[e.KV.Key] = string(e.KV.Value)
		}
	}
}

func (v *view) get(k string) (string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.kvs[k], v.resets
}

// After etcd compacts past a watcher's revision the watch ends with
// ErrCompacted, and a Follower ranges again and converges.
func TestCompactionAndFollowerRecovery(t *testing.T) {
	s := open(t)
	ctx := ctxT(t)
	put(t, s, "f/a", "1", "f/b", "1")
	v := &view{}
	f := store.NewFollower(s, "f/", v)
	if err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	loaded := f.Applied()

	// Changes the follower has not seen, then a compaction past them.
	put(t, s, "f/a", "2")
	if _, err := s.Txn(ctx, store.Txn{Deletes: []string{"f/b"}}); err != nil {
		t.Fatal(err)
	}
	last := put(t, s, "f/c", "3")
	if _, err := rawClient(t).Compact(ctx, last, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	if r := next(t, s.Watch(ctx, "f/", loaded)); !errors.Is(r.Err, store.ErrCompacted) {
		t.Fatalf("watch from before the compaction = %+v, want ErrCompacted", r)
	}
	if _, _, err := s.Range(ctx, "f/"); err != nil {
		t.Fatalf("Range after compaction: %v", err)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	if err := f.Wait(ctx, last); err != nil {
		t.Fatalf("follower did not reach %d: %v", last, err)
	}
	// Changes after the reload arrive through the new watch.
	final := put(t, s, "f/d", "4")
	if err := f.Wait(ctx, final); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	v.mu.Lock()
	got := fmt.Sprint(v.kvs)
	resets := v.resets
	v.mu.Unlock()
	if want := "map[f/a:2 f/c:3 f/d:4]"; got != want || resets != 2 {
		t.Fatalf("view = %s after %d resets, want %s after 2 (load and reload)", got, resets, want)
	}
}

// etcd refuses a transaction naming a key twice; the engine folds such a
// change as bolt applies it.
func TestTxnNamingAKeyTwice(t *testing.T) {
	s := open(t)
	ctx := ctxT(t)
	put(t, s, "d/k", "old", "d/gone", "x")
	_, from, _ := s.Range(ctx, "d/")
	w := s.Watch(ctx, "d/", from)
	rev, err := s.Txn(ctx, store.Txn{
		Puts:    []store.KV{{Key: "d/k", Value: []byte("first")}, {Key: "d/n", Value: []byte("n")}, {Key: "d/k", Value: []byte("last")}},
		Deletes: []string{"d/k", "d/gone", "d/gone", "d/missing"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := next(t, w)
	var evs []string
	for _, e := range got.Events {
		evs = append(evs, fmt.Sprintf("%d %s %s", e.Type, e.KV.Key, e.KV.Value))
	}
	want := []string{
		fmt.Sprintf("%d d/gone ", store.Delete),
		fmt.Sprintf("%d d/k last", store.Put),
		fmt.Sprintf("%d d/n n", store.Put),
	}
	if got.Revision != rev || !slices.Equal(evs, want) {
		t.Fatalf("watch = rev %d %q, want rev %d %q", got.Revision, evs, rev, want)
	}
}

func TestClosed(t *testing.T) {
	s := open(t)
	ctx := ctxT(t)
	w := s.Watch(ctx, "", 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r := next(t, w); !errors.Is(r.Err, store.ErrClosed) {
		t.Fatalf("pending watch after Close = %+v, want ErrClosed", r)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
	if _, _, err := s.Range(ctx, ""); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Range after Close = %v", err)
	}
	if _, err := s.Txn(ctx, store.Txn{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Txn after Close = %v", err)
	}
	if r := next(t, s.Watch(ctx, "", 0)); !errors.Is(r.Err, store.ErrClosed) {
		t.Fatalf("Watch after Close = %+v", r)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestContextEnds(t *testing.T) {
	s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context = %v", err)
	}
	if _, err := s.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "k"}}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Txn with a canceled context = %v", err)
	}
	wctx, wcancel := context.WithCancel(context.Background())
	w := s.Watch(wctx, "", 0)
	wcancel()
	select {
	case r, ok := <-w:
		if ok {
			t.Fatalf("watch after its context ended sent %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch not closed when its context ended")
	}
}

func TestOpenUnreachable(t *testing.T) {
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), []string{fmt.Sprintf("127.0.0.1:%d", ports[0])}, Options{DialTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
}
