package keys

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"runtime"
)

// Errors of the cryptographic operations. Callers map them to AWS errors;
// none of them carries key bytes or says more than the condition.
var (
	// ErrIncompatible is returned when an algorithm does not belong to the
	// material's key spec.
	ErrIncompatible = errors.New("keys: algorithm incompatible with key spec")
	// ErrDigestLength is returned when a DIGEST or EXTERNAL_MU message is not
	// as long as the algorithm's digest.
	ErrDigestLength = errors.New("keys: digest is invalid length for algorithm")
	// ErrMessageType is returned when a signing algorithm does not take the
	// message type (ED25519_SHA_512 takes only RAW, ED25519_PH_SHA_512 only
	// DIGEST, ML-DSA RAW or EXTERNAL_MU).
	ErrMessageType = errors.New("keys: message type not supported by signing algorithm")
	// ErrUnsupported is returned for an operation this build cannot perform.
	ErrUnsupported = errors.New("keys: operation not supported")
	// ErrPlaintextTooLarge is returned when a plaintext exceeds MaxPlaintext.
	ErrPlaintextTooLarge = errors.New("keys: plaintext too large for algorithm and key spec")
	// ErrPublicKey is returned when a peer's public key does not parse or is
	// not on the key's curve.
	ErrPublicKey = errors.New("keys: invalid public key")
	// ErrKeyMaterial is returned when material does not fit its key spec.
	ErrKeyMaterial = errors.New("keys: key material does not match the key spec")
)

// Material is one version of a KMS key's material, of any spec: *Symmetric,
// *HMAC or *Asymmetric. Only this package implements it.
//
// Every Material is safe for concurrent use until Destroy, which clears the
// private bytes it holds.
type Material interface {
	ID() MaterialID
	Spec() Spec
	Destroy()
	String() string
	GoString() string
	material()
	retire()
}

// Retire arranges for m's private bytes to be cleared as soon as nothing
// references m any more, instead of at once as Destroy does: for material
// dropped from a cache while a request may still be using it. Until then m
// stays usable; after, it is garbage. The AES key schedule and big-number
// internals that Destroy cannot reach are not cleared either way.
func Retire(m Material) { m.retire() }

var (
	_ Material = (*Symmetric)(nil)
	_ Material = (*HMAC)(nil)
	_ Material = (*Asymmetric)(nil)
)

// Generate makes fresh private material of a spec in its serialized form:
// the raw key for symmetric and HMAC specs, PKCS #8 DER for asymmetric ones.
// The caller seals it and clears it.
func Generate(rand io.Reader, spec Spec) ([]byte, error) {
	switch spec.Family() {
	case FamilySymmetric:
		return randomBytes(rand, SymmetricKeySize)
	case FamilyHMAC:
		return randomBytes(rand, hmacKeySize(spec))
	case 0:
		return nil, fmt.Errorf("keys: generate: %w", ErrKeyMaterial)
	}
	return generateAsymmetric(rand, spec)
}

// Load makes material from its serialized form (see Generate) and takes
// ownership of raw: Destroy clears it.
func Load(spec Spec, keyID string, id MaterialID, raw []byte) (Material, error) {
	switch spec.Family() {
	case FamilySymmetric:
		return NewSymmetric(keyID, id, raw)
	case FamilyHMAC:
		return NewHMAC(spec, id, raw)
	case 0:
		return nil, fmt.Errorf("keys: load: %w", ErrKeyMaterial)
	}
	return NewAsymmetric(spec, id, raw)
}

// CheckImport reports whether raw is acceptable imported material for spec:
// 32 bytes for SYMMETRIC_DEFAULT, AWS's length ranges for HMAC keys
// (importing-keys: HMAC_224 28-64 bytes, HMAC_256 32-64, HMAC_384 48-128,
// HMAC_512 64-128), and a PKCS #8 private key of the spec otherwise.
func CheckImport(spec Spec, raw []byte) error {
	switch spec.Family() {
	case FamilySymmetric:
		if len(raw) != SymmetricKeySize {
			return ErrKeyMaterial
		}
		return nil
	case FamilyHMAC:
		lo, hi := hmacImportRange(spec)
		if len(raw) < lo || len(raw) > hi {
			return ErrKeyMaterial
		}
		return nil
	case 0:
		return ErrKeyMaterial
	}
	k, _, err := parseAsymmetric(spec, raw)
	if err != nil {
		return ErrKeyMaterial
	}
	k.destroy()
	return nil
}

// ImportedMaterialID is the id of imported material: AWS derives it from the
// key id and the material (ImportKeyMaterial, KeyMaterialId), so importing
// the same material again yields the same id. The hash is domain-separated
// and covers the key id, so ids of different keys never collide.
func ImportedMaterialID(keyID string, raw []byte) MaterialID {
	h := sha256.New()
	h.Write([]byte("trent imported key material id\x00"))
	h.Write([]byte(keyID))
	h.Write([]byte{0})
	h.Write(raw)
	var id MaterialID
	h.Sum(id[:0])
	return id
}

func randomBytes(rand io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("keys: random: %w", err)
	}
	return b, nil
}

func constantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// clearBytes is a cleanup of Retire: the private bytes of material that
// became unreachable.
func clearBytes(b []byte) { clear(b) }

func (s *Symmetric) retire() {
	if s.key != nil {
		runtime.AddCleanup(s, clearBytes, s.key)
	}
}

func (h *HMAC) retire() {
	if h.key != nil {
		runtime.AddCleanup(h, clearBytes, h.key)
	}
}

// asymSecrets are what Asymmetric.Destroy clears, held apart from the
// *Asymmetric so that a cleanup can reach them without keeping it alive.
type asymSecrets struct {
	der []byte
	k   asymKey
}

func (a *Asymmetric) retire() {
	runtime.AddCleanup(a, func(s asymSecrets) {
		clear(s.der)
		s.k.destroy()
	}, asymSecrets{der: a.der, k: a.k})
}
