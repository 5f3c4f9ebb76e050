package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/store/etcd"
	"github.com/trentkms/trent/internal/store/etcd/etcdtest"
)

// within bounds how long a test waits for a node to notice a change of its
// etcd cluster; it is a bound, not an expectation of speed.
const within = 60 * time.Second

// records is a store.Handler: the records under a prefix.
type records struct {
	mu  sync.Mutex
	kvs map[string]string
}

func (v *records) Reset(kvs []store.KV, _ int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.kvs = map[string]string{}
	for _, kv := range kvs {
		v.kvs[kv.Key] = string(kv.Value)
	}
}

func (v *records) Apply(r store.WatchResponse) {
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

func (v *records) get(k string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.kvs[k]
}

// node is what the fence guards on a Trent node: views of a store, each
// followed by its own watch (as kms and iam do).
type node struct {
	st        store.Store
	views     []*records
	followers []*store.Follower
}

func newNode(t *testing.T, st store.Store, prefixes ...string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := &node{st: st}
	for _, p := range prefixes {
		v := &records{}
		f := store.NewFollower(st, p, v)
		if err := f.Load(ctx); err != nil {
			t.Fatal(err)
		}
		// Run ends with an error when etcd goes away for good; the
		// fence must notice that too, so it is not restarted here.
		go f.Run(ctx)
		n.views, n.followers = append(n.views, v), append(n.followers, f)
	}
	return n
}

func openEtcd(t *testing.T, c *etcdtest.Cluster, prefix string) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(context.Background(), c.Endpoints(), etcd.Options{Prefix: prefix, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, st store.Store, k, v string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		rev, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: k, Value: []byte(v)}}})
		if err == nil {
			return rev
		}
		if ctx.Err() != nil {
			t.Fatalf("put %s: %v", k, err)
		}
		time.Sleep(50 * time.Millisecond) // etcd electing a leader: retry
	}
}

// eventually polls cond until it holds, failing the test after within.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A local store is written only by this process: its views are always
// current and the guard lets everything through.
func TestLocalStoreIsAlwaysCurrent(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := newNode(t, st, "")
	f := NewFence(st, n.followers, FenceOptions{Now: func() time.Time { return time.Unix(0, 0) }})
	if !f.Current() || f.Confirm(context.Background()) != nil || !f.Status().Local {
		t.Fatalf("a fence over bolt: current %v, status %+v", f.Current(), f.Status())
	}
	served := false
	h := Guard(f, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = true }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	if !served {
		t.Fatal("the guard of a local store refused a request")
	}
}

// clock is a settable clock for the bound's arithmetic.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A confirmation holds for Bound from the moment it began, and no longer.
func TestConfirmationLastsTheBound(t *testing.T) {
	c := etcdtest.Start(t, 1)
	st := openEtcd(t, c, "/bound/")
	put(t, st, "k", "v")
	n := newNode(t, st, "", "acct/")
	clk := &clock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := NewFence(st, n.followers, FenceOptions{Bound: 5 * time.Second, Now: clk.Now})
	if f.Current() {
		t.Fatal("a fence is current before its first confirmation")
	}
	// Writes outside a follower's prefix put the store ahead of its view;
	// only a progress notification can confirm it.
	rev := put(t, st, "other", "x")
	if err := f.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := f.Status(); !s.Current || s.Revision < rev || s.Err != nil {
		t.Fatalf("after a confirmation: %+v, want current at revision ≥ %d", s, rev)
	}
	clk.advance(5*time.Second - time.Nanosecond)
	if !f.Current() {
		t.Fatal("stale before the bound passed")
	}
	clk.advance(time.Nanosecond)
	if f.Current() {
		t.Fatal("still current once the bound passed")
	}
	if err := f.Confirm(context.Background()); err != nil || !f.Current() {
		t.Fatalf("a new confirmation: %v, current %v", err, f.Current())
	}
}

// Stopping the only etcd member stales the node, which refuses requests with
// a retryable 503 in each protocol's shape; restarting it makes the node
// current again by itself, with the writes made meanwhile elsewhere.
func TestStaleWhileEtcdIsStoppedAndCurrentAfterRestart(t *testing.T) {
	c := etcdtest.Start(t, 1)
	st := openEtcd(t, c, "/stop/")
	n := newNode(t, st, "", "acct/")
	f := NewFence(st, n.followers, FenceOptions{Bound: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx)
	eventually(t, "current at start", f.Current)
	guard := Guard(f, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	if code := serve(guard, kmsRequest()).Code; code != http.StatusTeapot {
		t.Fatalf("a current node answered %d, want the request served", code)
	}

	c.Stop(0)
	eventually(t, "stale once etcd is stopped", func() bool { return !f.Current() })
	if s := f.Status(); s.Err == nil {
		t.Fatalf("stale without a reason: %+v", s)
	}
	rec := serve(guard, kmsRequest())
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"__type":"KMSInternalException"`) ||
		rec.Header().Get("X-Amzn-Requestid") == "" {
		t.Fatalf("a stale node's answer to KMS: %d %s", rec.Code, rec.Body)
	}
	rec = serve(guard, httptest.NewRequest("POST", "/", strings.NewReader("Action=GetUser&Version=2010-05-08")))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "<Code>ServiceUnavailable</Code>") ||
		!strings.Contains(rec.Body.String(), "<Type>Receiver</Type>") {
		t.Fatalf("a stale node's answer to IAM: %d %s", rec.Code, rec.Body)
	}
	if f.Status().Refused < 2 {
		t.Fatalf("refused requests not counted: %+v", f.Status())
	}

	c.Restart(0)
	eventually(t, "current after etcd restarts", f.Current)
	// The watches resumed: a write now reaches the views.
	writer := openEtcd(t, c, "/stop/")
	rev := put(t, writer, "acct/after", "restart")
	for _, fl := range n.followers {
		wctx, wcancel := context.WithTimeout(ctx, within)
		if err := fl.Wait(wctx, rev); err != nil {
			t.Fatal(err)
		}
		wcancel()
	}
	if n.views[1].get("acct/after") != "restart" {
		t.Fatal("the view missed the write made after the restart")
	}
	if code := serve(guard, kmsRequest()).Code; code != http.StatusTeapot {
		t.Fatalf("a node current again answered %d, want the request served", code)
	}
}

// A node keeps serving while its etcd cluster has a quorum, even when the
// leader is lost, and sees writes made through the remaining members; when
// the quorum is lost it stales, and it resumes when the quorum is back.
func TestMemberLossFromThreeMemberCluster(t *testing.T) {
	c := etcdtest.Start(t, 3)
	st := openEtcd(t, c, "/three/")
	n := newNode(t, st, "", "acct/")
	f := NewFence(st, n.followers, FenceOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx)
	eventually(t, "current at start", f.Current)
	other := openEtcd(t, c, "/three/")

	lost := c.Leader()
	if lost < 0 {
		lost = 0
	}
	c.Stop(lost)
	rev := put(t, other, "acct/k", "written with one member lost")
	eventually(t, "the write reaches the view", func() bool { return n.views[1].get("acct/k") != "" })
	// A confirmation made after the loss succeeds: the node is current on
	// its own merits, not on one made before.
	eventually(t, "confirmed current with one member lost", func() bool {
		return f.Confirm(ctx) == nil && f.Status().Revision >= rev && f.Current()
	})

	// Lose the quorum: nothing can be confirmed.
	second := (lost + 1) % 3
	c.Stop(second)
	eventually(t, "stale without a quorum", func() bool { return !f.Current() })
	if err := f.Confirm(ctx); err == nil {
		t.Fatal("a confirmation succeeded without a quorum")
	}

	c.Restart(second)
	eventually(t, "current with the quorum back", f.Current)
	rev = put(t, other, "acct/k2", "after the quorum is back")
	eventually(t, "the later write reaches the view", func() bool { return n.views[1].get("acct/k2") != "" })
	if f.Status().Revision == 0 || rev == 0 {
		t.Fatal("no revision confirmed")
	}
}

func kmsRequest() *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// The fence's cost on every request of a node on etcd.
func BenchmarkCurrent(b *testing.B) {
	c := etcdtest.Start(b, 1)
	s, err := etcd.Open(context.Background(), c.Endpoints(), etcd.Options{Prefix: "/bench/"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f := NewFence(s, nil, FenceOptions{Bound: time.Hour})
	if err := f.Confirm(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Current() {
			b.Fatal("stale")
		}
	}
}
