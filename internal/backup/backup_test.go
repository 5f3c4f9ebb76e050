package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

func newStore(t testing.TB) *bolt.DB {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func fill(t testing.TB, st store.Store, n int) {
	t.Helper()
	for i := range n {
		v := []byte(fmt.Sprintf(`{"n":%d,"bin":"\u0000\n"}`, i))
		if i == 0 {
			v = []byte{} // an empty value is a value
		}
		if _, err := st.Txn(context.Background(), store.Txn{Puts: []store.KV{{Key: fmt.Sprintf("acct/%03d", i), Value: v}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func contents(t testing.TB, st store.Store) string {
	t.Helper()
	kvs, _, err := st.Range(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&b, "%s=%q\n", kv.Key, kv.Value)
	}
	return b.String()
}

func snapshot(t testing.TB, st store.Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	h, err := Snapshot(context.Background(), st, &buf, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	_, rev, _ := st.Range(context.Background(), "")
	if h.Revision != rev || h.Format != Format {
		t.Fatalf("header %+v, store revision %d", h, rev)
	}
	return buf.Bytes()
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	for _, maxOps := range []int{0, 3, 128} {
		t.Run(fmt.Sprintf("maxOps=%d", maxOps), func(t *testing.T) {
			src := newStore(t)
			fill(t, src, 10)
			b := snapshot(t, src)
			h, kvs, err := Read(bytes.NewReader(b))
			if err != nil || h.Records != 10 || len(kvs) != 10 {
				t.Fatalf("Read = %+v, %d records, %v", h, len(kvs), err)
			}
			dst := newStore(t)
			if err := Restore(context.Background(), dst, kvs, RestoreOptions{MaxOps: maxOps}); err != nil {
				t.Fatal(err)
			}
			if got, want := contents(t, dst), contents(t, src); got != want {
				t.Fatalf("restored store:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// Every truncation and every altered byte of a backup is refused, naming the
// damage.
func TestDamagedBackupRefused(t *testing.T) {
	st := newStore(t)
	fill(t, st, 3)
	b := snapshot(t, st)
	for n := range len(b) {
		if _, _, err := Read(bytes.NewReader(b[:n])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("a backup cut to %d of %d bytes: %v, want ErrCorrupt", n, len(b), err)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if _, _, err := Read(bytes.NewReader(c)); err == nil {
			t.Fatalf("a backup with byte %d altered (%q) was accepted", i, b[i])
		}
	}
	if _, _, err := Read(bytes.NewReader(append(bytes.Clone(b), "x\n"...))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a backup with more after its checksum: %v", err)
	}
	newer := bytes.Replace(b, []byte("TRENT BACKUP 1"), []byte("TRENT BACKUP 2"), 1)
	if _, _, err := Read(bytes.NewReader(newer)); err == nil || !strings.Contains(err.Error(), "use a newer Trent") {
		t.Fatalf("a backup of a newer format: %v", err)
	}
	_, _, err := Read(bytes.NewReader(b[:len(b)/2]))
	if !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a truncated backup's error does not say so: %v", err)
	}
}

// A restore into a store that holds records is refused and writes nothing,
// unless told to replace them; then the store holds exactly the backup.
func TestRestoreIntoNonEmptyStore(t *testing.T) {
	src := newStore(t)
	fill(t, src, 5)
	_, kvs, err := Read(bytes.NewReader(snapshot(t, src)))
	if err != nil {
		t.Fatal(err)
	}
	dst := newStore(t)
	if _, err := dst.Txn(context.Background(), store.Txn{Puts: []store.KV{{Key: "zzz/other", Value: []byte("x")}, {Key: "acct/001", Value: []byte("old")}}}); err != nil {
		t.Fatal(err)
	}
	before := contents(t, dst)
	if err := Restore(context.Background(), dst, kvs, RestoreOptions{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Restore into a non-empty store = %v, want ErrNotEmpty", err)
	}
	if contents(t, dst) != before {
		t.Fatal("a refused restore changed the store")
	}
	for _, maxOps := range []int{0, 2} {
		if err := Restore(context.Background(), dst, kvs, RestoreOptions{Replace: true, MaxOps: maxOps}); err != nil {
			t.Fatal(err)
		}
		if got, want := contents(t, dst), contents(t, src); got != want {
			t.Fatalf("replaced store (maxOps %d):\n%s\nwant:\n%s", maxOps, got, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	st := newStore(f)
	fill(f, st, 2)
	f.Add(snapshot(f, st))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, kvs, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		// What Read accepts, Write writes again in a form Read accepts.
		var out bytes.Buffer
		if _, err := Write(&out, kvs, h.Revision, h.Time); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Read(&out); err != nil {
			t.Fatalf("a backup written from an accepted one does not read: %v", err)
		}
	})
}
