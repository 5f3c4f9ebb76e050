// Package seal owns the root key that seals all key material at rest.
//
// Every piece of key material Trent stores is sealed with AES-256-GCM under the
// root key, with associated data naming what it is (the key ARN and material
// id), so a sealed blob moved to another record fails to open. The root key
// lives in a file (mode 0600) created on first start; a passphrase or PKCS#11
// source can implement the same Sealer later.
//
// # Concurrency
//
// A *Sealer is safe for concurrent use.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrOpen is returned when sealed data does not open: wrong root key, wrong
// associated data, or tampering.
var ErrOpen = errors.New("seal: sealed data does not open under this root key")

const (
	version   = 1
	nonceSize = 12
	fileMagic = "TRENT ROOT KEY v1\n"
)

// Sealer seals and opens key material under one root key.
type Sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

// New returns a Sealer for a 32-byte root key. The caller may clear rootKey
// afterwards.
func New(rootKey []byte, rand io.Reader) (*Sealer, error) {
	if len(rootKey) != 32 {
		return nil, fmt.Errorf("seal: root key is %d bytes, want 32", len(rootKey))
	}
	block, err := aes.NewCipher(rootKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, rand: rand}, nil
}

// Seal returns version | nonce | AES-256-GCM(plaintext, aad).
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+s.aead.Overhead())
	out[0] = version
	if _, err := io.ReadFull(s.rand, out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+nonceSize], plaintext, aad), nil
}

// Open reverses Seal. The returned plaintext is the caller's to clear.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// LoadOrCreateFile reads the root key file at path, or creates it with a fresh
// random key if it does not exist. created reports which happened.
func LoadOrCreateFile(path string, rand io.Reader) (s *Sealer, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		defer clear(key)
		if _, err := io.ReadFull(rand, key); err != nil {
			return nil, false, fmt.Errorf("seal: generate root key: %w", err)
		}
		if err := writeKeyFile(path, key); err != nil {
			return nil, false, err
		}
		s, err := New(key, rand)
		return s, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("seal: read root key: %w", err)
	}
	defer clear(b)
	enc, ok := bytes.CutPrefix(b, []byte(fileMagic))
	if !ok {
		return nil, false, fmt.Errorf("seal: %s is not a Trent root key file", path)
	}
	key := make([]byte, 32)
	defer clear(key)
	n, err := base64.StdEncoding.Decode(key, bytes.TrimSpace(enc))
	if err != nil || n != 32 {
		return nil, false, fmt.Errorf("seal: %s: malformed root key", path)
	}
	s, err = New(key, rand)
	return s, false, err
}

// writeKeyFile writes the key durably: a temporary file, fsync, rename, fsync
// of the directory, so a crash leaves either no key file or a whole one.
func writeKeyFile(path string, key []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".rootkey-*")
	if err != nil {
		return fmt.Errorf("seal: create root key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("seal: chmod root key: %w", err)
	}
	buf := make([]byte, 0, len(fileMagic)+45)
	buf = append(buf, fileMagic...)
	buf = base64.StdEncoding.AppendEncode(buf, key)
	buf = append(buf, '\n')
	defer clear(buf)
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("seal: write root key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("seal: sync root key: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		// Link, not Rename: never replace a root key another process just made.
		return fmt.Errorf("seal: install root key: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
