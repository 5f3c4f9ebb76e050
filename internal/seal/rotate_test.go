package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

// testVisitor is the visitor of the records this file's tests write: each
// "test/…" record is one blob sealed with its key as associated data.
func testVisitor(key string, value []byte, fn func(sealed, ad []byte) ([]byte, error)) ([]byte, bool, error) {
	if !strings.HasPrefix(key, "test/") {
		return nil, false, nil
	}
	b, err := fn(value, []byte(key))
	return b, true, err
}

// putSealed writes n test records sealed by s; their plaintext is the key.
func putSealed(t *testing.T, st store.Store, s *Sealer, n int) {
	t.Helper()
	var txn store.Txn
	for i := range n {
		k := fmt.Sprintf("test/%04d", i)
		b, err := s.Seal([]byte("plain "+k), []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		txn.Puts = append(txn.Puts, store.KV{Key: k, Value: b})
	}
	if _, err := st.Txn(context.Background(), txn); err != nil {
		t.Fatal(err)
	}
}

// openAll checks that s opens every test record to its plaintext.
func openAll(t *testing.T, st store.Store, s *Sealer) {
	t.Helper()
	kvs, _, err := st.Range(context.Background(), "test/")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) == 0 {
		t.Fatal("no test records")
	}
	for _, kv := range kvs {
		pt, err := s.Open(kv.Value, []byte(kv.Key))
		if err != nil || !strings.HasPrefix(string(pt), "plain "+kv.Key) {
			t.Fatalf("%s does not open: %q, %v", kv.Key, pt, err)
		}
	}
}

func counts(t *testing.T, st store.Store) map[uint32]int64 {
	t.Helper()
	c, err := Count(context.Background(), st, []Visitor{testVisitor})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A blob in the format Trent wrote before rotation (1 | nonce | GCM) opens
// under version 1; after a version 2 is added, Seal writes 2 | version |
// nonce | GCM, both open, the version is read from the blob, and a blob
// whose version byte is changed, or that names a version not held, does not
// open.
func TestSealedFormats(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	// The format 1 blob as the Sealer before rotation made it.
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	old := make([]byte, 1+12)
	old[0] = 1
	rand.Read(old[1:])
	old = gcm.Seal(old, old[1:13], []byte("from before"), []byte("ad"))

	s, err := New(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Open(old, []byte("ad")); err != nil || string(pt) != "from before" {
		t.Fatalf("a format 1 blob = %q, %v", pt, err)
	}
	b1, _ := s.Seal([]byte("one"), []byte("ad"))
	if b1[0] != format1 || len(b1) != 1+12+3+16 {
		t.Fatalf("Seal under version 1 wrote format %d, %d bytes: a store never rotated must stay readable by an older Trent", b1[0], len(b1))
	}
	key2 := make([]byte, 32)
	rand.Read(key2)
	if err := s.add(2, key2); err != nil {
		t.Fatal(err)
	}
	b2, _ := s.Seal([]byte("two"), []byte("ad"))
	if b2[0] != format2 || !bytes.Equal(b2[1:5], []byte{0, 0, 0, 2}) {
		t.Fatalf("Seal under version 2 = % x…", b2[:5])
	}
	for _, c := range []struct {
		b    []byte
		want string
		v    uint32
	}{{old, "from before", 1}, {b1, "one", 1}, {b2, "two", 2}} {
		if v, ok := SealedVersion(c.b); !ok || v != c.v {
			t.Fatalf("SealedVersion = %d, %v; want %d", v, ok, c.v)
		}
		if pt, err := s.Open(c.b, []byte("ad")); err != nil || string(pt) != c.want {
			t.Fatalf("Open = %q, %v; want %q", pt, err, c.want)
		}
	}
	// A version-2 blob presented as version 1, and the reverse: wrong key.
	forged := append([]byte{format1}, b2[5:]...)
	if _, err := s.Open(forged, []byte("ad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("a blob re-labelled to version 1 opened: %v", err)
	}
	forged = append([]byte(nil), b2...)
	forged[4] = 1
	if _, err := s.Open(forged, []byte("ad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("a blob re-labelled to version 1 in format 2 opened: %v", err)
	}
	forged[4] = 9
	if _, err := s.Open(forged, []byte("ad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("a blob naming a version not held opened: %v", err)
	}
	for _, bad := range [][]byte{nil, {0}, {format2, 0, 0}, {7, 1, 2, 3}} {
		if _, err := s.Open(bad, nil); !errors.Is(err, ErrOpen) {
			t.Fatalf("Open(% x) = %v", bad, err)
		}
	}
	// Retired: version 1 no longer opens; the newest is never retired.
	s.retire(func(uint32) bool { return false })
	if _, err := s.Open(b1, []byte("ad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("a retired version opened: %v", err)
	}
	if pt, err := s.Open(b2, []byte("ad")); err != nil || string(pt) != "two" {
		t.Fatalf("the newest version after retire = %q, %v", pt, err)
	}
}

// Rotation on a store written before rotation existed: every record,
// sealed in format 1, is rewrapped under version 2 in small batches; the
// keyring then holds only version 2 and no link; a node unsealing the store
// with its seal opens every record; the old root key opens none.
func TestRotateRewrapsAndRetires(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	s := initialize(t, st, w)
	putSealed(t, st, s, 250)
	if c := counts(t, st); c[1] != 251 || len(c) != 1 {
		t.Fatalf("before: %v, want 251 records under version 1 (with the canary)", c)
	}
	before, _ := st.Get(ctx, RootKey)
	if !bytes.Contains(before.Value, []byte(`"format":1`)) {
		t.Fatalf("a new store's root key record is not format 1: %s", before.Value)
	}
	old, err := New(mustUnwrap(t, st, w), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	txns := 0
	res, err := Rotate(ctx, st, s, w, []Visitor{testVisitor}, RotateOptions{Settle: -1, Batch: 7, RetireNow: true, Rand: rand.Reader,
		Progress: func(RotateProgress) { txns++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target != 2 || res.Rewrapped != 251 || !equalVersions(res.Retired, 1) || res.Resumed {
		t.Fatalf("Rotate = %+v", res)
	}
	if txns < 251/7 {
		t.Fatalf("%d transactions for 251 records in batches of 7", txns)
	}
	if c := counts(t, st); c[2] != 251 || len(c) != 1 {
		t.Fatalf("after: %v, want 251 records under version 2", c)
	}
	if s.Newest() != 2 || !equalVersions(s.Versions(), 2) {
		t.Fatalf("the rotating node holds %v, newest %d", s.Versions(), s.Newest())
	}
	rec, _, err := readRoot(ctx, st)
	if err != nil || rec.Format != rootFormat2 || rec.Version != 2 || rec.Older != nil || rec.Link != nil {
		t.Fatalf("keyring after retirement = %+v, %v", rec, err)
	}
	if _, err := st.Get(ctx, RotationKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rotation record is still there: %v", err)
	}
	fresh, err := Unseal(ctx, st, w, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	openAll(t, st, fresh)
	openAll(t, st, s)
	kv, _ := st.Get(ctx, "test/0000")
	if _, err := old.Open(kv.Value, []byte("test/0000")); err == nil {
		t.Fatal("the retired root key opens a rewrapped record")
	}
	// A second rotation makes version 3 from a format 2 keyring.
	if res, err := Rotate(ctx, st, s, w, []Visitor{testVisitor}, RotateOptions{Settle: -1, RetireNow: true, Rand: rand.Reader}); err != nil || res.Target != 3 {
		t.Fatalf("second Rotate = %+v, %v", res, err)
	}
	fresh, err = Unseal(ctx, st, w, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	openAll(t, st, fresh)
	st.Close()
	for _, k := range [][]byte{mustUnwrapPath(t, dbPath, w)} {
		AssertAbsent(t, filepath.Dir(dbPath), k)
	}
}

func mustUnwrap(t *testing.T, st store.Store, w Wrapper) []byte {
	t.Helper()
	k, err := UnwrapRoot(context.Background(), st, w)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustUnwrapPath(t *testing.T, dbPath string, w Wrapper) []byte {
	t.Helper()
	st, _ := openBolt(t, dbPath)
	defer st.Close()
	return mustUnwrap(t, st, w)
}

func equalVersions(got []uint32, want ...uint32) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// A rotation stopped mid-way (here its context ends, as when the process is
// killed between two transactions) leaves the store consistent: the records
// before its cursor are under the new version, those after under the old,
// and every one opens. Run again, without the seal, it resumes at the
// cursor: the records done before are not written again.
func TestRotateResumes(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	s := initialize(t, st, w)
	putSealed(t, st, s, 100)
	stopCtx, stop := context.WithCancel(ctx)
	n := 0
	_, err := Rotate(stopCtx, st, s, w, []Visitor{testVisitor}, RotateOptions{Settle: -1, Batch: 10, Rand: rand.Reader, Progress: func(RotateProgress) {
		if n++; n == 3 {
			stop()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped Rotate = %v", err)
	}
	p, _, ok, err := Rotation(ctx, st)
	// Three batches of ten records (the first page also holds the keyring
	// and rotation records, which are not rewrapped).
	if err != nil || !ok || p.Target != 2 || p.Pass != 0 || p.Rewrapped != 28 || p.Cursor != "test/0026" {
		t.Fatalf("rotation record = %+v, %v, %v", p, ok, err)
	}
	if c := counts(t, st); c[1] != 101-28 || c[2] != 28 {
		t.Fatalf("mid-way: %v", c)
	}
	// A node that starts now unseals both versions and opens everything.
	mid, err := Unseal(ctx, st, w, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	openAll(t, st, mid)
	done, _ := st.Get(ctx, "test/0000")
	// A new rotation cannot start while one is under way; resuming needs
	// no seal.
	res, err := Rotate(ctx, st, mid, nil, []Visitor{testVisitor}, RotateOptions{Settle: -1, Batch: 10, RetireNow: true, Rand: rand.Reader})
	if err != nil || !res.Resumed || res.Target != 2 || res.Rewrapped != 101 {
		t.Fatalf("resumed Rotate = %+v, %v", res, err)
	}
	if again, _ := st.Get(ctx, "test/0000"); again.ModRev != done.ModRev {
		t.Fatal("a record rewrapped before the stop was rewrapped again")
	}
	if c := counts(t, st); c[2] != 101 || len(c) != 1 {
		t.Fatalf("after resuming: %v", c)
	}
	openAll(t, st, mid)
}

// A request that writes a record while a batch holding it is being
// rewrapped wins: the batch's transaction fails on the record's revision,
// the page is read again, and the request's value is what is rewrapped.
func TestRotateConcurrentWriteWins(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	s := initialize(t, st, w)
	putSealed(t, st, s, 20)
	var wrote atomic.Bool
	racing := func(key string, value []byte, fn func(sealed, ad []byte) ([]byte, error)) ([]byte, bool, error) {
		if key == "test/0005" && wrote.CompareAndSwap(false, true) {
			b, err := s.Seal([]byte("plain test/0005, written during the rotation"), []byte(key))
			if err != nil {
				return nil, true, err
			}
			if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: key, Value: b}}}); err != nil {
				return nil, true, err
			}
		}
		return testVisitor(key, value, fn)
	}
	if _, err := Rotate(ctx, st, s, w, []Visitor{racing}, RotateOptions{Settle: -1, Batch: 50, RetireNow: true, Rand: rand.Reader}); err != nil {
		t.Fatal(err)
	}
	kv, _ := st.Get(ctx, "test/0005")
	if pt, err := s.Open(kv.Value, []byte(kv.Key)); err != nil || !strings.HasSuffix(string(pt), "during the rotation") {
		t.Fatalf("the concurrent write was lost: %q, %v", pt, err)
	}
	if c := counts(t, st); c[2] != 21 || len(c) != 1 {
		t.Fatalf("after: %v", c)
	}
}

// Without RetireNow, the old version seals nothing after the rewrap but is
// kept for a day (import tokens it sealed); Rotate run again before then
// keeps it, and after then retires it.
func TestRotateWaitsForImportTokens(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	s := initialize(t, st, w)
	putSealed(t, st, s, 5)
	token, _ := s.Seal([]byte("an import token"), []byte("import"))
	now := time.Now()
	clock := func() time.Time { return now }
	res, err := Rotate(ctx, st, s, w, []Visitor{testVisitor}, RotateOptions{Settle: -1, Now: clock, Rand: rand.Reader})
	if err != nil || len(res.Retired) != 0 || !equalVersions(res.Waiting, 1) || !res.RetireAt.Equal(now.UTC().Add(DefaultRetireAfter)) {
		t.Fatalf("Rotate = %+v, %v", res, err)
	}
	if pt, err := s.Open(token, []byte("import")); err != nil || string(pt) != "an import token" {
		t.Fatalf("an import token sealed before the rotation = %q, %v", pt, err)
	}
	if c := counts(t, st); c[2] != 6 || len(c) != 1 {
		t.Fatalf("after the rewrap: %v", c)
	}
	// A rotation is still under way: another seal call does not start one.
	now = now.Add(time.Hour)
	if res, err = Rotate(ctx, st, s, w, []Visitor{testVisitor}, RotateOptions{Settle: -1, Now: clock, Rand: rand.Reader}); err != nil || !res.Resumed || res.Target != 2 || len(res.Retired) != 0 {
		t.Fatalf("Rotate an hour later = %+v, %v", res, err)
	}
	now = now.Add(DefaultRetireAfter)
	if res, err = Rotate(ctx, st, s, nil, []Visitor{testVisitor}, RotateOptions{Settle: -1, Now: clock, Rand: rand.Reader}); err != nil || !equalVersions(res.Retired, 1) {
		t.Fatalf("Rotate a day later = %+v, %v", res, err)
	}
	if _, err := s.Open(token, []byte("import")); err == nil {
		t.Fatal("a retired version still opens")
	}
	kr, err := ReadKeyring(ctx, st)
	if err != nil || len(kr.Versions) != 1 || kr.Versions[0].Version != 2 {
		t.Fatalf("ReadKeyring = %+v, %v", kr, err)
	}
}

// A wrong seal starts no rotation and changes nothing.
func TestRotateWrongSeal(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	s := initialize(t, st, passSeal(t, "correct horse battery staple"))
	putSealed(t, st, s, 3)
	before := snapshot(t, st)
	_, err := Rotate(ctx, st, s, passSeal(t, "incorrect horse battery staple"), []Visitor{testVisitor}, RotateOptions{Settle: -1, Rand: rand.Reader})
	if !errors.Is(err, ErrWrongSeal) {
		t.Fatalf("Rotate with a wrong passphrase = %v", err)
	}
	sameRecords(t, before, snapshot(t, st))
	if s.Newest() != 1 {
		t.Fatal("the refused rotation added a version")
	}
}

// Another node learns the new version without its seal: through the watch,
// or, for a blob it meets first, by reading the keyring; it drops retired
// versions. A node started after the rotation unseals the multi-version
// keyring with the seal; seal migrate and Verify work on it.
func TestOtherNodeFollowsRotation(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	a := initialize(t, st, w)
	putSealed(t, st, a, 10)
	b, err := Unseal(ctx, st, w, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Learning through Open alone: b's watch is not running yet.
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := Rotate(ctx, st, a, w, []Visitor{testVisitor}, RotateOptions{Settle: -1, Rand: rand.Reader})
	if err != nil || res.Target != 2 {
		t.Fatalf("Rotate = %+v, %v", res, err)
	}
	blob, _ := a.Seal([]byte("new"), []byte("ad"))
	if _, err := b.Open(blob, []byte("ad")); err == nil {
		t.Fatal("a node without Follow opened a newer version")
	}
	go b.Follow(bctx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	waitFor(t, func() bool { return b.Holds(2) && b.Newest() == 2 })
	if pt, err := b.Open(blob, []byte("ad")); err != nil || string(pt) != "new" {
		t.Fatalf("the other node = %q, %v", pt, err)
	}
	openAll(t, st, b)
	if mine, _ := b.Seal([]byte("x"), nil); mine[0] != format2 {
		t.Fatal("the other node does not seal under the new version")
	}

	// A third node started now unseals both versions with the seal.
	c, err := Unseal(ctx, st, w, rand.Reader)
	if err != nil || !equalVersions(c.Versions(), 1, 2) {
		t.Fatalf("Unseal of a two-version keyring = %v, %v", c, err)
	}
	// Migrate to the passphrase seal; Verify and Unseal take it.
	p := passSeal(t, "correct horse battery staple")
	if err := Migrate(ctx, st, w, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	c, err = Unseal(ctx, st, passSeal(t, "correct horse battery staple"), rand.Reader)
	if err != nil || !equalVersions(c.Versions(), 1, 2) {
		t.Fatalf("Unseal after migrate = %v, %v", c, err)
	}
	if err := Verify(ctx, snapshot(t, st), passSeal(t, "correct horse battery staple")); err != nil {
		t.Fatalf("Verify of a two-version keyring: %v", err)
	}
	if _, err := UnwrapKeyring(ctx, st, passSeal(t, "correct horse battery staple")); err != nil {
		t.Fatal(err)
	}

	// Retirement reaches b through its watch.
	if _, err := Rotate(ctx, st, a, nil, []Visitor{testVisitor}, RotateOptions{Settle: -1, RetireNow: true, Rand: rand.Reader}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !b.Holds(1) })

	// The learning path: d holds version 2 only; a rotates to 3 and d's
	// first sight of it is a blob.
	d, err := Unseal(ctx, st, passSeal(t, "correct horse battery staple"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	go d.Follow(dctx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := Rotate(ctx, st, a, passSeal(t, "correct horse battery staple"), []Visitor{testVisitor}, RotateOptions{Settle: -1, Rand: rand.Reader}); err != nil {
		t.Fatal(err)
	}
	blob3, _ := a.Seal([]byte("three"), []byte("ad"))
	if pt, err := d.Open(blob3, []byte("ad")); err != nil || string(pt) != "three" {
		t.Fatalf("a blob under a version the node had not seen = %q, %v", pt, err)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; !ok(); i++ {
		if i > 500 {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openBolt(t *testing.T, path string) (store.Store, error) {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st, nil
}

// A request that sealed a record under the old version just before the new
// one was made, and writes it while the rewrap runs or just after, is
// caught: the last verification pass starts no earlier than Settle after
// the new version, and rewraps it before the old version is retired.
func TestRotateSettlesBeforeVerifying(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	s := initialize(t, st, w)
	putSealed(t, st, s, 5)
	late, _ := s.Seal([]byte("plain test/late"), []byte("test/late"))
	start := time.Now()
	written := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: "test/late", Value: late}}})
		written <- err
	}()
	res, err := Rotate(ctx, st, s, w, []Visitor{testVisitor}, RotateOptions{Settle: time.Second, RetireNow: true, Rand: rand.Reader})
	if err != nil || !equalVersions(res.Retired, 1) {
		t.Fatalf("Rotate = %+v, %v", res, err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("the rotation verified after %v, before Settle", time.Since(start))
	}
	if c := counts(t, st); c[2] != 7 || len(c) != 1 {
		t.Fatalf("after: %v; the late record was not rewrapped", c)
	}
	openAll(t, st, s)
}
