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
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ErrOpen is returned when sealed data does not open: wrong root key, wrong
// associated data, or tampering.
var ErrOpen = errors.New("seal: sealed data does not open under this root key")

// The formats of a sealed blob. The first byte says which:
//
//	1 | nonce (12) | AES-256-GCM       sealed under root key version 1
//	2 | version (4, big-endian) | nonce (12) | AES-256-GCM
//
// Format 1 is what Trent wrote before the root key could rotate, and what it
// still writes while version 1 is the newest, so a store that was never
// rotated stays readable by an older Trent. Format 2 names the root key
// version, so Open finds the key by index, without trying keys in turn.
const (
	format1   = 1
	format2   = 2
	nonceSize = 12
	header1   = 1
	header2   = 1 + 4
)

// maxVersion bounds root key versions: the keyring is a slice indexed by
// version, and a keyring record naming version 4 billion must not make it
// large. Rotations are yearly or rarer in practice.
const maxVersion = 1 << 16

// Sealer seals and opens key material under a keyring of root key versions:
// Seal uses the newest, Open the version the blob names.
type Sealer struct {
	ring atomic.Pointer[ring]
	rand io.Reader

	mu sync.Mutex // serialises changes of ring
	// learn, when set (Follow), is asked for a version newer than ring's
	// newest that a blob names: another node rotated the root key and this
	// node's watch has not said so yet.
	learn atomic.Pointer[func(version uint32) error]
}

// ring is an immutable keyring; changes replace it whole, so Seal and Open
// read it with one atomic load.
type ring struct {
	newest uint32
	aeads  []cipher.AEAD // by version; nil: not held (retired)
}

// New returns a Sealer whose keyring is root key version 1, rootKey (32
// bytes). The caller may clear rootKey afterwards.
func New(rootKey []byte, rand io.Reader) (*Sealer, error) {
	aead, err := newAEAD(rootKey)
	if err != nil {
		return nil, err
	}
	s := &Sealer{rand: rand}
	s.ring.Store(&ring{newest: 1, aeads: []cipher.AEAD{nil, aead}})
	return s, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: root key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Newest is the version Seal uses.
func (s *Sealer) Newest() uint32 { return s.ring.Load().newest }

// Versions are the versions s holds, oldest first.
func (s *Sealer) Versions() []uint32 {
	r := s.ring.Load()
	var out []uint32
	for v, a := range r.aeads {
		if a != nil {
			out = append(out, uint32(v))
		}
	}
	return out
}

// Holds reports whether s has root key version v.
func (s *Sealer) Holds(v uint32) bool {
	r := s.ring.Load()
	return int(v) < len(r.aeads) && r.aeads[v] != nil
}

// add puts version v, key, in the keyring (newest if it is the newest). The
// caller may clear key afterwards.
func (s *Sealer) add(v uint32, key []byte) error {
	if v == 0 || v > maxVersion {
		return fmt.Errorf("seal: root key version %d is out of range", v)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.ring.Load()
	n := &ring{newest: max(old.newest, v), aeads: append([]cipher.AEAD(nil), old.aeads...)}
	for len(n.aeads) <= int(v) {
		n.aeads = append(n.aeads, nil)
	}
	n.aeads[v] = aead
	s.ring.Store(n)
	return nil
}

// retire drops every version that keep does not hold; never the newest.
func (s *Sealer) retire(keep func(v uint32) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.ring.Load()
	n := &ring{newest: old.newest, aeads: append([]cipher.AEAD(nil), old.aeads...)}
	for v := range n.aeads {
		if uint32(v) != n.newest && !keep(uint32(v)) {
			n.aeads[v] = nil
		}
	}
	s.ring.Store(n)
}

// Seal seals plaintext with associated data aad under the newest root key
// version.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	r := s.ring.Load()
	return r.seal(r.newest, plaintext, aad, s.rand)
}

func (r *ring) seal(v uint32, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	aead := r.aeads[v]
	hdr := header1
	if v != 1 {
		hdr = header2
	}
	out := make([]byte, hdr+nonceSize, hdr+nonceSize+len(plaintext)+aead.Overhead())
	if v == 1 {
		out[0] = format1
	} else {
		out[0] = format2
		binary.BigEndian.PutUint32(out[1:], v)
	}
	if _, err := io.ReadFull(rand, out[hdr:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[hdr:hdr+nonceSize], plaintext, aad), nil
}

// SealedVersion returns the root key version a sealed blob names; ok is
// false if it is not a sealed blob.
func SealedVersion(sealed []byte) (v uint32, ok bool) {
	v, hdr := parseHeader(sealed)
	return v, hdr > 0 && len(sealed) >= hdr+nonceSize+16
}

// parseHeader returns the version a blob names and the length of its
// header; 0, 0 if it has none.
func parseHeader(b []byte) (uint32, int) {
	switch {
	case len(b) >= header1 && b[0] == format1:
		return 1, header1
	case len(b) >= header2 && b[0] == format2:
		return binary.BigEndian.Uint32(b[1:]), header2
	}
	return 0, 0
}

// Open reverses Seal, with the root key version the blob names. The
// returned plaintext is the caller's to clear.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	r := s.ring.Load()
	pt, err := r.open(sealed, aad)
	if err != errVersion {
		return pt, err
	}
	// Only a version newer than any this node holds can be learnt; an older
	// one was retired, and a blob without a version is no blob.
	v, _ := parseHeader(sealed)
	learn := s.learn.Load()
	if v <= r.newest || v > maxVersion || learn == nil || (*learn)(v) != nil {
		return nil, ErrOpen
	}
	pt, err = s.ring.Load().open(sealed, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// errVersion is ring.open's ErrOpen for a blob under a version the ring
// does not hold.
var errVersion = errors.New("seal: sealed under a root key version not held")

func (r *ring) open(sealed, aad []byte) ([]byte, error) {
	v, hdr := parseHeader(sealed)
	if int(v) >= len(r.aeads) || r.aeads[v] == nil {
		return nil, errVersion
	}
	aead := r.aeads[v]
	if len(sealed) < hdr+nonceSize+aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, sealed[hdr:hdr+nonceSize], sealed[hdr+nonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
