// Package seal owns the root key that seals all key material at rest, and the
// seals that keep the root key itself wrapped.
//
// Every piece of key material and every secret Trent stores is sealed with
// AES-256-GCM under the root key (a *Sealer), with associated data naming
// what it is (the key ARN and material id), so a sealed blob moved to another
// record fails to open.
//
// The root key is 32 random bytes made by the first node to start on an
// empty store (Initialize). It never reaches disk in plaintext: the store
// holds it wrapped by a seal (a Wrapper) at RootKey, next to a canary sealed
// under it at CanaryKey. Every node unwraps it at start (Unseal), so a cluster
// needs no file copied between nodes, only the same seal configuration. The
// seals are:
//   - File: a key file in the data directory wraps it (development; the file
//     is as sensitive as the root key);
//   - Passphrase: a key derived with Argon2id from a passphrase, whose
//     parameters are recorded beside the wrapped key;
//   - PKCS11 (package seal/hsm): a non-extractable AES key in an HSM token;
//   - KMS (package seal/awskms): a key in another KMS, AWS KMS or a Trent.
//
// Migrate rewraps the root key from one seal to another; the sealed records do
// not change.
//
// # Concurrency
//
// A *Sealer is safe for concurrent use. A Wrapper is used by one goroutine at
// a time.
//
// # Errors
//
// ErrOpen: a sealed blob does not open. ErrWrongSeal: the configured seal does
// not open the root key (a wrong passphrase, another key file, HSM key or KMS
// key); nothing was changed. ErrMismatch: the root key unwraps but the canary
// says the records are sealed with another. ErrNotInitialized: no root key yet.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// ErrOpen is returned when sealed data does not open: wrong root key, wrong
// associated data, or tampering.
var ErrOpen = errors.New("seal: sealed data does not open under this root key")

const (
	version   = 1
	nonceSize = 12
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
