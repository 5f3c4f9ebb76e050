package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenBindsAssociatedData(t *testing.T) {
	s, created, err := LoadOrCreateFile(filepath.Join(t.TempDir(), "root.key"), rand.Reader)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateFile = %v, %v", created, err)
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

func TestRootKeyFilePersistsWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	s1, _, err := LoadOrCreateFile(path, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := s1.Seal([]byte("material"), nil)
	s2, created, err := LoadOrCreateFile(path, rand.Reader)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateFile = created %v, %v", created, err)
	}
	if pt, err := s2.Open(sealed, nil); err != nil || string(pt) != "material" {
		t.Fatalf("reloaded key does not open: %q, %v", pt, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode = %v, %v", fi.Mode().Perm(), err)
	}
	other, _, err := LoadOrCreateFile(filepath.Join(t.TempDir(), "root.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("another root key opened the data: %v", err)
	}
}

func TestRejectsForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, _, err := LoadOrCreateFile(path, rand.Reader); err == nil {
		t.Fatal("a file without the root key header was accepted")
	}
}
