package keys

import (
	"crypto"
	"crypto/aes"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"
)

// Import wrapping (importing-keys-get-public-key-and-token): the caller
// encrypts key material under a wrapping public key of spec RSA_2048/3072/
// 4096 or SM2. RSAES_OAEP_* encrypts the material directly;
// RSA_AES_KEY_WRAP_* encrypts a fresh AES-256 key with RSA-OAEP and appends
// the material wrapped under it with AES key wrap with padding (RFC 5649), as
// `openssl enc -id-aes256-wrap-pad` produces; SM2PKE encrypts directly.

// ErrUnwrap is returned when wrapped key material does not decrypt.
var ErrUnwrap = errors.New("keys: wrapped key material does not decrypt")

// WrappingAllowed reports whether a wrapping algorithm goes with a wrapping
// key spec.
func WrappingAllowed(spec Spec, alg WrappingAlgorithm) bool {
	switch spec.Family() {
	case FamilyRSA:
		return alg == WrapRSAESOAEPSHA1 || alg == WrapRSAESOAEPSHA256 || alg == WrapRSAAESKeyWrapSHA1 || alg == WrapRSAAESKeyWrapSHA256
	case FamilySM2:
		return alg == WrapSM2PKE
	}
	return false
}

// Unwrap decrypts key material wrapped under the public half of a wrapping
// key pair (PKCS #8 DER of spec). Every failure is ErrUnwrap.
func Unwrap(spec Spec, wrappingKey []byte, alg WrappingAlgorithm, wrapped []byte) ([]byte, error) {
	if !WrappingAllowed(spec, alg) {
		return nil, ErrIncompatible
	}
	k, _, err := parseAsymmetric(spec, wrappingKey)
	if err != nil {
		return nil, err
	}
	defer k.destroy()
	var out []byte
	switch alg {
	case WrapSM2PKE:
		out, err = k.(*sm2Key).decrypt(SM2PKE, wrapped)
	case WrapRSAESOAEPSHA1, WrapRSAESOAEPSHA256:
		out, err = rsa.DecryptOAEP(wrapHash(alg).New(), nil, k.(*rsaKey).priv, wrapped, nil)
	default:
		priv := k.(*rsaKey).priv
		if len(wrapped) <= priv.Size() {
			return nil, ErrUnwrap
		}
		var kek []byte
		kek, err = rsa.DecryptOAEP(wrapHash(alg).New(), nil, priv, wrapped[:priv.Size()], nil)
		if err == nil {
			out, err = UnwrapKWP(kek, wrapped[priv.Size():])
			clear(kek)
		}
	}
	if err != nil {
		return nil, ErrUnwrap
	}
	return out, nil
}

func wrapHash(alg WrappingAlgorithm) crypto.Hash {
	if alg == WrapRSAESOAEPSHA1 || alg == WrapRSAAESKeyWrapSHA1 {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// Wrap is Unwrap's inverse, for tests and tools: it wraps material under a
// wrapping public key (DER SubjectPublicKeyInfo, RSA only).
func Wrap(rand io.Reader, wrappingPublic []byte, alg WrappingAlgorithm, material []byte) ([]byte, error) {
	p, err := parsePKIX(wrappingPublic)
	if err != nil {
		return nil, err
	}
	pub, ok := p.(*rsa.PublicKey)
	if !ok {
		return nil, ErrIncompatible
	}
	switch alg {
	case WrapRSAESOAEPSHA1, WrapRSAESOAEPSHA256:
		return rsa.EncryptOAEP(wrapHash(alg).New(), rand, pub, material, nil)
	case WrapRSAAESKeyWrapSHA1, WrapRSAAESKeyWrapSHA256:
		kek, err := randomBytes(rand, 32)
		if err != nil {
			return nil, err
		}
		defer clear(kek)
		head, err := rsa.EncryptOAEP(wrapHash(alg).New(), rand, pub, kek, nil)
		if err != nil {
			return nil, err
		}
		tail, err := WrapKWP(kek, material)
		if err != nil {
			return nil, err
		}
		return append(head, tail...), nil
	}
	return nil, ErrIncompatible
}

// kwpIV is RFC 5649's alternative initial value prefix.
var kwpIV = [4]byte{0xA6, 0x59, 0x59, 0xA6}

// WrapKWP wraps p with AES key wrap with padding (RFC 5649).
func WrapKWP(kek, p []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("keys: nothing to wrap")
	}
	n := (len(p) + 7) / 8
	var a [8]byte
	copy(a[:], kwpIV[:])
	binary.BigEndian.PutUint32(a[4:], uint32(len(p)))
	r := make([]byte, 8*n)
	copy(r, p)
	if n == 1 {
		out := make([]byte, 16)
		copy(out, a[:])
		copy(out[8:], r)
		b.Encrypt(out, out)
		return out, nil
	}
	var buf [16]byte
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(buf[:8], a[:])
			copy(buf[8:], r[8*(i-1):8*i])
			b.Encrypt(buf[:], buf[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(buf[:8])^t)
			copy(r[8*(i-1):8*i], buf[8:])
		}
	}
	return append(a[:], r...), nil
}

// UnwrapKWP undoes WrapKWP; any failure is ErrUnwrap.
func UnwrapKWP(kek, c []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil || len(c)%8 != 0 || len(c) < 16 {
		return nil, ErrUnwrap
	}
	n := len(c)/8 - 1
	var a [8]byte
	r := make([]byte, 8*n)
	if n == 1 {
		var buf [16]byte
		b.Decrypt(buf[:], c)
		copy(a[:], buf[:8])
		copy(r, buf[8:])
	} else {
		copy(a[:], c[:8])
		copy(r, c[8:])
		var buf [16]byte
		for j := 5; j >= 0; j-- {
			for i := n; i >= 1; i-- {
				t := uint64(n*j + i)
				binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a[:])^t)
				copy(buf[8:], r[8*(i-1):8*i])
				b.Decrypt(buf[:], buf[:])
				copy(a[:], buf[:8])
				copy(r[8*(i-1):8*i], buf[8:])
			}
		}
	}
	mli := int(binary.BigEndian.Uint32(a[4:]))
	ok := subtle.ConstantTimeCompare(a[:4], kwpIV[:]) & subtle.ConstantTimeLessOrEq(8*(n-1)+1, mli) & subtle.ConstantTimeLessOrEq(mli, 8*n)
	if ok != 1 {
		clear(r)
		return nil, ErrUnwrap
	}
	var pad byte
	for _, x := range r[mli:] {
		pad |= x
	}
	if pad != 0 {
		clear(r)
		return nil, ErrUnwrap
	}
	return r[:mli], nil
}
