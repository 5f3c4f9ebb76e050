package hsm

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/softhsmtest"
	"github.com/trentkms/trent/internal/store/bolt"
)

const (
	module   = softhsmtest.Module
	userPIN  = "seal-user-pin"
	tokLabel = "trent-seal"
)

// softHSM initialises the seal's SoftHSM2 token for this test.
func softHSM(t *testing.T) {
	t.Helper()
	softhsmtest.Setenv(t, softhsmtest.Token{Label: tokLabel, PIN: userPIN})
}

func newSeal(t *testing.T, pin string) *Seal {
	t.Helper()
	s, err := New(Config{Module: module, Token: tokLabel, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The root key wrapped by a key in the token unwraps after the seal is
// closed and opened again (a restart); a wrong PIN is refused naming the
// cause and changes nothing.
func TestWrapUnwrapInSoftHSM(t *testing.T) {
	softHSM(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newSeal(t, userPIN)
	s1, txn, err := seal.Initialize(ctx, st, w, rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	// One module initialisation at a time per process: close before reopening.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sealed, _ := s1.Seal([]byte("material"), nil)

	w2 := newSeal(t, userPIN)
	s2, err := seal.Unseal(ctx, st, w2, rand.Reader)
	if err != nil {
		t.Fatalf("Unseal: %v", err)
	}
	w2.Close()
	if pt, err := s2.Open(sealed, nil); err != nil || string(pt) != "material" {
		t.Fatalf("the unwrapped root key does not open the records: %v", err)
	}

	before, _, _ := st.Range(ctx, "")
	wrong := newSeal(t, "not-the-pin")
	if _, err := seal.Unseal(ctx, st, wrong, rand.Reader); err == nil || !strings.Contains(err.Error(), "refused the PIN") {
		t.Fatalf("Unseal with a wrong PIN = %v", err)
	}
	wrong.Close()
	after, _, _ := st.Range(ctx, "")
	if len(before) != len(after) || before[0].ModRev != after[0].ModRev {
		t.Fatal("a refused unseal changed the store")
	}

	// A record naming a key the token does not have is the wrong seal.
	other := newSeal(t, userPIN)
	if _, err := other.Unwrap(ctx, []byte(`{"token":"x","label":"trent-seal-missing"}`), make([]byte, 60), nil); !errors.Is(err, seal.ErrWrongSeal) {
		t.Fatalf("Unwrap with a missing key = %v", err)
	}
	if _, err := New(Config{Module: module, Token: tokLabel}); err == nil {
		t.Fatal("a seal without a PIN was accepted")
	}
}
