package keys

import (
	"bytes"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/smx509"
)

// Asymmetric is one asymmetric key pair of any asymmetric spec: RSA, the
// NIST curves, secp256k1, Ed25519, SM2 or ML-DSA. Its private half is held
// in PKCS #8 DER (cleared by Destroy) and in the parsed form the family's
// library uses.
//
// The parsed forms of crypto/rsa, crypto/ecdsa and the third-party libraries
// keep their own copies of the private scalar in big.Int or field elements
// that Destroy cannot reach; they become garbage with the Asymmetric.
type Asymmetric struct {
	spec Spec
	id   MaterialID
	der  []byte // PKCS #8
	pub  []byte // SubjectPublicKeyInfo DER
	k    asymKey
}

// asymKey is what each family implements.
type asymKey interface {
	// sign and verify receive an algorithm of the spec.
	sign(rand io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error)
	verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error)
	destroy()
}

// decrypter is implemented by the families that encrypt (RSA, SM2).
type decrypter interface {
	encrypt(rand io.Reader, alg EncryptionAlgorithm, pt []byte) ([]byte, error)
	decrypt(alg EncryptionAlgorithm, ct []byte) ([]byte, error)
	maxPlaintext(alg EncryptionAlgorithm) int
}

// agreer is implemented by the families that do ECDH (NIST curves, SM2).
type agreer interface {
	agree(peerSPKI []byte) ([]byte, error)
}

// NewAsymmetric parses PKCS #8 DER of spec and takes ownership of der.
func NewAsymmetric(spec Spec, id MaterialID, der []byte) (*Asymmetric, error) {
	k, pub, err := parseAsymmetric(spec, der)
	if err != nil {
		return nil, err
	}
	return &Asymmetric{spec: spec, id: id, der: der, pub: pub, k: k}, nil
}

// GenerateKeyPair makes a key pair of spec and returns its private key in
// PKCS #8 DER and its public key in SubjectPublicKeyInfo DER, the forms
// GenerateDataKeyPair returns.
func GenerateKeyPair(rand io.Reader, spec Spec) (private, public []byte, err error) {
	if !spec.IsDataKeyPairSpec() && spec.Family() != FamilyMLDSA {
		return nil, nil, fmt.Errorf("keys: %v is no key pair spec", spec)
	}
	der, err := generateAsymmetric(rand, spec)
	if err != nil {
		return nil, nil, err
	}
	k, pub, err := parseAsymmetric(spec, der)
	if err != nil {
		clear(der)
		return nil, nil, err
	}
	k.destroy()
	return der, pub, nil
}

func generateAsymmetric(rand io.Reader, spec Spec) ([]byte, error) {
	switch spec.Family() {
	case FamilyRSA:
		return generateRSA(rand, spec)
	case FamilyECC:
		return generateECC(rand, spec)
	case FamilySECG:
		return generateSECG(rand)
	case FamilyEd25519:
		return generateEd25519(rand)
	case FamilySM2:
		return generateSM2(rand)
	case FamilyMLDSA:
		return generateMLDSA(spec)
	}
	return nil, fmt.Errorf("keys: %v is not asymmetric", spec)
}

func parseAsymmetric(spec Spec, der []byte) (asymKey, []byte, error) {
	var (
		k   asymKey
		pub []byte
		err error
	)
	switch spec.Family() {
	case FamilyRSA:
		k, pub, err = parseRSA(spec, der)
	case FamilyECC:
		k, pub, err = parseECC(spec, der)
	case FamilySECG:
		k, pub, err = parseSECG(der)
	case FamilyEd25519:
		k, pub, err = parseEd25519(der)
	case FamilySM2:
		k, pub, err = parseSM2(der)
	case FamilyMLDSA:
		k, pub, err = parseMLDSA(spec, der)
	default:
		return nil, nil, fmt.Errorf("keys: %v is not asymmetric", spec)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("keys: parse %v private key: %w", spec, ErrKeyMaterial)
	}
	return k, pub, nil
}

func (a *Asymmetric) ID() MaterialID { return a.id }
func (a *Asymmetric) Spec() Spec     { return a.spec }
func (a *Asymmetric) material()      {}

// Destroy clears the PKCS #8 bytes and whatever the family's parsed key
// lets us reach.
func (a *Asymmetric) Destroy() {
	clear(a.der)
	a.k.destroy()
}

// String never shows key bytes.
func (a *Asymmetric) String() string {
	return "keys.Asymmetric{" + a.spec.String() + "/" + a.id.String() + "}"
}

// GoString never shows key bytes.
func (a *Asymmetric) GoString() string { return a.String() }

// PublicKey is the DER SubjectPublicKeyInfo of the pair (a copy).
func (a *Asymmetric) PublicKey() []byte { return bytes.Clone(a.pub) }

// Equal reports, in constant time on the private bytes, whether a and b hold
// the same key pair.
func (a *Asymmetric) Equal(b *Asymmetric) bool {
	return a.spec == b.spec && constantTimeEqual(a.der, b.der)
}

func hasAlg[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Sign signs msg, a message (RAW), its digest (DIGEST) or ML-DSA's μ
// (EXTERNAL_MU).
func (a *Asymmetric) Sign(rand io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	if !hasAlg(a.spec.SigningAlgorithms(), alg) {
		return nil, ErrIncompatible
	}
	return a.k.sign(rand, alg, mt, msg)
}

// Verify reports whether sig is a valid signature of msg. The error is for
// requests that cannot be checked (wrong algorithm, digest length, message
// type), not for a signature that does not verify.
func (a *Asymmetric) Verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	if !hasAlg(a.spec.SigningAlgorithms(), alg) {
		return false, ErrIncompatible
	}
	return a.k.verify(alg, mt, msg, sig)
}

// MaxPlaintext is the largest plaintext Encrypt takes with alg, or 0 if the
// key does not encrypt with it.
func (a *Asymmetric) MaxPlaintext(alg EncryptionAlgorithm) int {
	d, ok := a.k.(decrypter)
	if !ok || !hasAlg(a.spec.EncryptionAlgorithms(), alg) {
		return 0
	}
	return d.maxPlaintext(alg)
}

// Encrypt encrypts pt with the public key.
func (a *Asymmetric) Encrypt(rand io.Reader, alg EncryptionAlgorithm, pt []byte) ([]byte, error) {
	d, ok := a.k.(decrypter)
	if !ok || !hasAlg(a.spec.EncryptionAlgorithms(), alg) {
		return nil, ErrIncompatible
	}
	if len(pt) > d.maxPlaintext(alg) {
		return nil, ErrPlaintextTooLarge
	}
	return d.encrypt(rand, alg, pt)
}

// Decrypt decrypts ct with the private key; every failure is ErrCiphertext.
func (a *Asymmetric) Decrypt(alg EncryptionAlgorithm, ct []byte) ([]byte, error) {
	d, ok := a.k.(decrypter)
	if !ok || !hasAlg(a.spec.EncryptionAlgorithms(), alg) {
		return nil, ErrIncompatible
	}
	pt, err := d.decrypt(alg, ct)
	if err != nil {
		return nil, ErrCiphertext
	}
	return pt, nil
}

// DeriveSharedSecret runs ECDH with the peer's public key (DER
// SubjectPublicKeyInfo on the same curve) and returns the raw shared secret,
// the x coordinate of the shared point, as KMS does.
func (a *Asymmetric) DeriveSharedSecret(alg KeyAgreementAlgorithm, peerSPKI []byte) ([]byte, error) {
	g, ok := a.k.(agreer)
	if !ok || !hasAlg(a.spec.KeyAgreementAlgorithms(), alg) {
		return nil, ErrIncompatible
	}
	return g.agree(peerSPKI)
}

// digestOf returns what a hash-then-sign algorithm signs: the message's
// digest for RAW, the message itself for DIGEST if it has the right length.
func digestOf(alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	h := alg.hash()
	switch mt {
	case Raw:
		hh := h.New()
		hh.Write(msg)
		return hh.Sum(nil), nil
	case Digest:
		if len(msg) != h.Size() {
			return nil, ErrDigestLength
		}
		return msg, nil
	}
	return nil, ErrMessageType
}

// parsePKIX parses a DER SubjectPublicKeyInfo of any curve this package knows.
func parsePKIX(der []byte) (any, error) {
	p, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, ErrPublicKey
	}
	return p, nil
}
