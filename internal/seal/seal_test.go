package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

// testCost keeps Argon2id cheap in tests; the parameters are recorded, so
// Unwrap uses whatever Wrap used.
var testCost = Argon2{Time: 1, MemoryKiB: 8 << 10, Threads: 1}

func newStore(t *testing.T) (*bolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trent.db")
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func passSeal(t *testing.T, pass string) *PassphraseSeal {
	t.Helper()
	p, err := NewPassphraseSeal([]byte(pass), testCost, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// initialize makes the store's root key with w and commits it.
func initialize(t *testing.T, st store.Store, w Wrapper) *Sealer {
	t.Helper()
	ctx := context.Background()
	s, txn, err := Initialize(ctx, st, w, rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot is every record of the store, to show that a refusal wrote nothing.
func snapshot(t *testing.T, st store.Store) []store.KV {
	t.Helper()
	kvs, _, err := st.Range(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return kvs
}

func sameRecords(t *testing.T, a, b []store.KV) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("the store changed: %d records, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].ModRev != b[i].ModRev || !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("the store changed at %s", a[i].Key)
		}
	}
}

func TestSealOpenBindsAssociatedData(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	s, err := New(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	sealed, err := s.Seal(secret, []byte("arn:key/1|m1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed output contains the plaintext")
	}
	got, err := s.Open(sealed, []byte("arn:key/1|m1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %x, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("arn:key/2|m1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with other associated data: %v, want ErrOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, []byte("arn:key/1|m1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of tampered data: %v, want ErrOpen", err)
	}
}

// Each pure-Go seal: the first start makes a root key, a later one unwraps
// the same key, and the root key is nowhere on disk in plaintext.
func TestInitializeThenUnseal(t *testing.T) {
	for _, tt := range []struct {
		name string
		seal func(t *testing.T, dir string) Wrapper
	}{
		{name: "file", seal: func(t *testing.T, dir string) Wrapper {
			return NewFileSeal(filepath.Join(dir, "root.key"), rand.Reader)
		}},
		{name: "passphrase", seal: func(t *testing.T, dir string) Wrapper { return passSeal(t, "correct horse battery staple") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, dbPath := newStore(t)
			dir := filepath.Dir(dbPath)
			s1 := initialize(t, st, tt.seal(t, dir))
			sealed, err := s1.Seal([]byte("material"), []byte("ad"))
			if err != nil {
				t.Fatal(err)
			}
			w := tt.seal(t, dir)
			s2, err := Unseal(ctx, st, w, rand.Reader)
			if err != nil {
				t.Fatalf("Unseal: %v", err)
			}
			if pt, err := s2.Open(sealed, []byte("ad")); err != nil || string(pt) != "material" {
				t.Fatalf("the unsealed root key does not open what the first one sealed: %q, %v", pt, err)
			}
			status, err := ReadStatus(ctx, st)
			if err != nil || !status.Initialized || status.Seal.String() != tt.name {
				t.Fatalf("ReadStatus = %+v, %v", status, err)
			}
			if _, _, err := Initialize(ctx, st, w, rand.Reader, time.Now()); err == nil {
				t.Fatal("Initialize of an initialized store succeeded")
			}
			st.Close()
			assertNoRootKeyOnDisk(t, w, dbPath, dir)
		})
	}
}

// assertNoRootKeyOnDisk unwraps the store's root key with w and looks for it,
// raw and in base64, in every file under dir.
func assertNoRootKeyOnDisk(t *testing.T, w Wrapper, dbPath, dir string) {
	t.Helper()
	st, err := bolt.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := readRoot(context.Background(), st)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	key, err := w.Unwrap(context.Background(), rec.Params, rec.Wrapped, rootAD(w.Kind()))
	if err != nil {
		t.Fatal(err)
	}
	AssertAbsent(t, dir, key)
}

// AssertAbsent fails t if any file under dir holds secret, raw or in base64.
func AssertAbsent(t *testing.T, dir string, secret []byte) {
	t.Helper()
	needles := [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawStdEncoding.EncodeToString(secret))}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for _, x := range needles {
			if bytes.Contains(b, x) {
				t.Errorf("%s holds the secret in plaintext", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no file under %s to scan", dir)
	}
}

// A wrong passphrase, another key file, or another kind of seal is refused
// with a clear error, and nothing in the store changes.
func TestWrongSealRefusedNothingChanged(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	dir := filepath.Dir(dbPath)
	initialize(t, st, passSeal(t, "correct horse battery staple"))
	before := snapshot(t, st)
	for _, tt := range []struct {
		name string
		w    Wrapper
		want string
	}{
		{name: "wrong passphrase", w: passSeal(t, "incorrect horse battery staple"), want: "wrong passphrase"},
		{name: "short wrong passphrase", w: passSeal(t, "x"), want: "wrong passphrase"},
		{name: "another kind", w: NewFileSeal(filepath.Join(dir, "root.key"), rand.Reader), want: "wrapped by the passphrase seal, and this node is configured with the file seal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unseal(ctx, st, tt.w, rand.Reader)
			if !errors.Is(err, ErrWrongSeal) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Unseal = %v, want ErrWrongSeal saying %q", err, tt.want)
			}
			sameRecords(t, before, snapshot(t, st))
		})
	}

	st2, dbPath2 := newStore(t)
	initialize(t, st2, NewFileSeal(filepath.Join(filepath.Dir(dbPath2), "root.key"), rand.Reader))
	other := NewFileSeal(filepath.Join(t.TempDir(), "root.key"), rand.Reader)
	if _, _, err := other.Wrap(ctx, make([]byte, 32), nil); err != nil { // makes the other file
		t.Fatal(err)
	}
	if _, err := Unseal(ctx, st2, other, rand.Reader); !errors.Is(err, ErrWrongSeal) || !strings.Contains(err.Error(), "every node on the file seal needs the same file") {
		t.Fatalf("Unseal with another key file = %v", err)
	}
	missing := NewFileSeal(filepath.Join(t.TempDir(), "root.key"), rand.Reader)
	if _, err := Unseal(ctx, st2, missing, rand.Reader); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Unseal without the key file = %v", err)
	}
}

// The passphrase seal records its Argon2id parameters, refuses weak ones,
// and a record whose parameters were tampered with does not unwrap.
func TestPassphraseParameters(t *testing.T) {
	if _, err := NewPassphraseSeal([]byte("correct horse battery staple"), Argon2{Time: 1, MemoryKiB: 1024, Threads: 1}, rand.Reader); err == nil {
		t.Fatal("1 MiB of memory was accepted")
	}
	ctx := context.Background()
	st, _ := newStore(t)
	if _, _, err := Initialize(ctx, st, passSeal(t, "too short"), rand.Reader, time.Now()); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("Initialize with a short passphrase = %v", err)
	}
	initialize(t, st, passSeal(t, "correct horse battery staple"))
	kv, err := st.Get(ctx, RootKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kdf":"argon2id"`, `"time":1`, `"memoryKiB":8192`, `"threads":1`, `"salt":`} {
		if !bytes.Contains(kv.Value, []byte(want)) {
			t.Fatalf("the root record does not record %s: %s", want, kv.Value)
		}
	}
	tampered := bytes.Replace(kv.Value, []byte(`"time":1`), []byte(`"time":2`), 1)
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: RootKey, Value: tampered}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Unseal(ctx, st, passSeal(t, "correct horse battery staple"), rand.Reader); !errors.Is(err, ErrWrongSeal) {
		t.Fatalf("Unseal of a record with changed parameters = %v", err)
	}
	huge := bytes.Replace(kv.Value, []byte(`"memoryKiB":8192`), []byte(`"memoryKiB":999999999`), 1)
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: RootKey, Value: huge}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Unseal(ctx, st, passSeal(t, "correct horse battery staple"), rand.Reader); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("Unseal of a record asking for 1 TB = %v", err)
	}
}

// A root key that unwraps but does not open the canary (a record from
// another store) is refused.
func TestCanaryRefusesAnotherStoresRootKey(t *testing.T) {
	ctx := context.Background()
	a, _ := newStore(t)
	b, _ := newStore(t)
	initialize(t, a, passSeal(t, "correct horse battery staple"))
	initialize(t, b, passSeal(t, "correct horse battery staple"))
	rec, err := a.Get(ctx, RootKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Txn(ctx, store.Txn{Puts: []store.KV{{Key: RootKey, Value: rec.Value}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Unseal(ctx, b, passSeal(t, "correct horse battery staple"), rand.Reader); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Unseal with another store's root key = %v, want ErrMismatch", err)
	}
}

// A store an older Trent made (records sealed with root.key itself, a canary,
// no root record) is adopted by the file seal with the same root key, and
// refused by any other seal until then.
func TestLegacyStoreAdopted(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	keyFile := filepath.Join(filepath.Dir(dbPath), "root.key")
	legacy := make([]byte, 32)
	rand.Read(legacy)
	if err := writeKeyFile(keyFile, legacy); err != nil {
		t.Fatal(err)
	}
	old, _ := New(legacy, rand.Reader)
	canary, _ := old.Seal([]byte(canaryText), []byte(canaryAD))
	material, _ := old.Seal([]byte("material"), []byte("ad"))
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: CanaryKey, Value: canary}}}); err != nil {
		t.Fatal(err)
	}
	if status, _ := ReadStatus(ctx, st); !status.Legacy || status.Initialized {
		t.Fatalf("ReadStatus = %+v, want Legacy", status)
	}
	if _, _, err := Initialize(ctx, st, passSeal(t, "correct horse battery staple"), rand.Reader, time.Now()); !errors.Is(err, ErrLegacy) {
		t.Fatalf("Initialize of a legacy store with a passphrase = %v, want ErrLegacy", err)
	}
	s := initialize(t, st, NewFileSeal(keyFile, rand.Reader))
	if pt, err := s.Open(material, []byte("ad")); err != nil || string(pt) != "material" {
		t.Fatalf("the adopted root key does not open the old records: %v", err)
	}
	s2, err := Unseal(ctx, st, NewFileSeal(keyFile, rand.Reader), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Open(material, []byte("ad")); err != nil {
		t.Fatalf("after adoption Unseal does not open the old records: %v", err)
	}
}

// Migrate moves the root key from one seal to another; the old seal then no
// longer opens it, the records stay the same, and a failed migration
// changes nothing.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	file := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	s := initialize(t, st, file)
	sealed, _ := s.Seal([]byte("material"), []byte("ad"))
	before := snapshot(t, st)

	wrongFrom := NewFileSeal(filepath.Join(t.TempDir(), "root.key"), rand.Reader)
	wrongFrom.Wrap(ctx, make([]byte, 32), nil)
	if err := Migrate(ctx, st, wrongFrom, passSeal(t, "correct horse battery staple"), time.Now()); !errors.Is(err, ErrWrongSeal) {
		t.Fatalf("Migrate from the wrong file = %v", err)
	}
	if err := Migrate(ctx, st, passSeal(t, "correct horse battery staple"), file, time.Now()); !errors.Is(err, ErrWrongSeal) {
		t.Fatalf("Migrate from a kind that is not the store's = %v", err)
	}
	if err := Migrate(ctx, st, file, passSeal(t, "short"), time.Now()); err == nil {
		t.Fatal("Migrate to a too short passphrase succeeded")
	}
	sameRecords(t, before, snapshot(t, st))

	if err := Migrate(ctx, st, file, passSeal(t, "correct horse battery staple"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := Unseal(ctx, st, file, rand.Reader); !errors.Is(err, ErrWrongSeal) {
		t.Fatalf("the file seal still unseals after migrating away: %v", err)
	}
	s2, err := Unseal(ctx, st, passSeal(t, "correct horse battery staple"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s2.Open(sealed, []byte("ad")); err != nil || string(pt) != "material" {
		t.Fatalf("after migration the records do not open: %v", err)
	}
}

// Nodes that start at once on an empty store agree on one root key: one
// Initialize commits, the others conflict and unseal the winner's.
func TestConcurrentInitializeAgree(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	const n = 8
	sealers := make([]*Sealer, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := passSeal(t, "correct horse battery staple")
			for {
				s, txn, err := Initialize(ctx, st, w, rand.Reader, time.Now())
				if err == nil {
					if _, err = st.Txn(ctx, txn); err == nil {
						mu.Lock()
						won++
						mu.Unlock()
						sealers[i] = s
						return
					}
					if !errors.Is(err, store.ErrConflict) {
						t.Error(err)
						return
					}
				}
				if s, err := Unseal(ctx, st, w, rand.Reader); err == nil {
					sealers[i] = s
					return
				} else if !errors.Is(err, ErrNotInitialized) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d nodes initialized the store, want 1", won)
	}
	sealed, _ := sealers[0].Seal([]byte("x"), nil)
	for i, s := range sealers {
		if _, err := s.Open(sealed, nil); err != nil {
			t.Fatalf("node %d has another root key", i)
		}
	}
}

func TestKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	f := NewFileSeal(path, rand.Reader)
	if _, _, err := f.Wrap(ctx, make([]byte, 32), nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode().Perm(), err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := f.Wrap(ctx, make([]byte, 32), nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file was used: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "foreign"), []byte("not a key"), 0o600)
	if _, _, err := NewFileSeal(filepath.Join(dir, "foreign"), rand.Reader).Wrap(ctx, make([]byte, 32), nil); err == nil {
		t.Fatal("a file without the key file header was accepted")
	}
}

// Verify checks records outside a store (a backup) as Unseal would.
func TestVerifyRecords(t *testing.T) {
	st, _ := newStore(t)
	initialize(t, st, passSeal(t, "correct horse battery staple"))
	kvs := snapshot(t, st)
	ctx := context.Background()
	if err := Verify(ctx, kvs, passSeal(t, "correct horse battery staple")); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify(ctx, kvs, passSeal(t, "incorrect horse battery staple")); !errors.Is(err, ErrWrongSeal) {
		t.Fatalf("Verify with a wrong passphrase = %v", err)
	}
	other, _ := newStore(t)
	initialize(t, other, passSeal(t, "correct horse battery staple"))
	mixed := snapshot(t, other)
	for i := range mixed {
		for _, kv := range kvs {
			if mixed[i].Key == RootKey && kv.Key == RootKey {
				mixed[i].Value = kv.Value // this store's root key with the other store's canary
			}
		}
	}
	if err := Verify(ctx, mixed, passSeal(t, "correct horse battery staple")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify of a root key with another store's canary = %v", err)
	}
	if err := Verify(ctx, kvs[:1], passSeal(t, "correct horse battery staple")); err == nil {
		t.Fatal("Verify of records without a root key succeeded")
	}
}

// firstNodeBetweenReads is a real store on which another node's first start
// commits (root key record and canary in one transaction) right after this
// node read that there is no root key record: the interleaving of two nodes
// started at once on an empty store.
type firstNodeBetweenReads struct {
	store.Store
	commit func()
}

func (s *firstNodeBetweenReads) Get(ctx context.Context, key string) (store.KV, error) {
	kv, err := s.Store.Get(ctx, key)
	if key == RootKey && errors.Is(err, store.ErrNotFound) && s.commit != nil {
		s.commit()
		s.commit = nil
	}
	return kv, err
}

// A node that reads the store while the first node's initialization commits
// sees an initialized store, never an older Trent's (which has a canary and
// no root key record).
func TestReadStatusDuringFirstInitialization(t *testing.T) {
	ctx := context.Background()
	st, dbPath := newStore(t)
	w := NewFileSeal(filepath.Join(filepath.Dir(dbPath), "root.key"), rand.Reader)
	racing := &firstNodeBetweenReads{Store: st, commit: func() { initialize(t, st, w) }}
	status, err := ReadStatus(ctx, racing)
	if err != nil || status.Legacy || !status.Initialized || status.Seal.String() != "file" {
		t.Fatalf("ReadStatus while the first node initializes = %+v, %v; want initialized by the file seal", status, err)
	}
}
