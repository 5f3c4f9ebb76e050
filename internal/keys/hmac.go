package keys

import (
	"crypto"
	"crypto/hmac"
	_ "crypto/sha256" // SHA-224 and SHA-256 for HMAC and signing
	_ "crypto/sha512" // SHA-384 and SHA-512 for HMAC and signing
	"fmt"
)

// HMAC is one version of HMAC_224/256/384/512 key material.
type HMAC struct {
	spec Spec
	id   MaterialID
	key  []byte
}

// NewHMAC takes ownership of key: Destroy clears it.
func NewHMAC(spec Spec, id MaterialID, key []byte) (*HMAC, error) {
	if spec.Family() != FamilyHMAC {
		return nil, fmt.Errorf("keys: %v is not an HMAC spec", spec)
	}
	if lo, hi := hmacImportRange(spec); len(key) < lo || len(key) > hi {
		return nil, fmt.Errorf("keys: %v material is %d bytes: %w", spec, len(key), ErrKeyMaterial)
	}
	return &HMAC{spec: spec, id: id, key: key}, nil
}

// hmacKeySize is the size of generated HMAC material: the digest size, so a
// key has the strength its algorithm offers.
func hmacKeySize(spec Spec) int { return macHash(spec.MACAlgorithms()[0]).Size() }

// hmacImportRange is the length range AWS accepts for imported HMAC material.
func hmacImportRange(spec Spec) (lo, hi int) {
	switch spec {
	case SpecHMAC224:
		return 28, 64
	case SpecHMAC256:
		return 32, 64
	case SpecHMAC384:
		return 48, 128
	case SpecHMAC512:
		return 64, 128
	}
	return 1, 0
}

func macHash(a MACAlgorithm) crypto.Hash {
	switch a {
	case HMACSHA224:
		return crypto.SHA224
	case HMACSHA256:
		return crypto.SHA256
	case HMACSHA384:
		return crypto.SHA384
	case HMACSHA512:
		return crypto.SHA512
	}
	return 0
}

func (h *HMAC) ID() MaterialID { return h.id }
func (h *HMAC) Spec() Spec     { return h.spec }
func (h *HMAC) material()      {}

// Destroy clears the key bytes.
func (h *HMAC) Destroy() { clear(h.key) }

// String never shows key bytes.
func (h *HMAC) String() string { return "keys.HMAC{" + h.spec.String() + "/" + h.id.String() + "}" }

// GoString never shows key bytes.
func (h *HMAC) GoString() string { return h.String() }

func (h *HMAC) check(alg MACAlgorithm) error {
	if len(h.spec.MACAlgorithms()) == 0 || h.spec.MACAlgorithms()[0] != alg {
		return ErrIncompatible
	}
	return nil
}

// MAC returns the HMAC of msg.
func (h *HMAC) MAC(alg MACAlgorithm, msg []byte) ([]byte, error) {
	if err := h.check(alg); err != nil {
		return nil, err
	}
	m := hmac.New(macHash(alg).New, h.key)
	m.Write(msg)
	return m.Sum(nil), nil
}

// VerifyMAC reports, in constant time, whether mac is the HMAC of msg.
func (h *HMAC) VerifyMAC(alg MACAlgorithm, msg, mac []byte) (bool, error) {
	want, err := h.MAC(alg, msg)
	if err != nil {
		return false, err
	}
	return hmac.Equal(want, mac), nil
}
