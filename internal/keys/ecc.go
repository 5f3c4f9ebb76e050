package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// NIST curves: crypto/ecdsa signs, crypto/ecdh agrees.

type eccKey struct{ priv *ecdsa.PrivateKey }

func eccCurve(spec Spec) elliptic.Curve {
	switch spec {
	case SpecECCNISTP256:
		return elliptic.P256()
	case SpecECCNISTP384:
		return elliptic.P384()
	case SpecECCNISTP521:
		return elliptic.P521()
	}
	return nil
}

func generateECC(rand io.Reader, spec Spec) ([]byte, error) {
	k, err := ecdsa.GenerateKey(eccCurve(spec), rand)
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(k)
}

func parseECC(spec Spec, der []byte) (asymKey, []byte, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, err
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != eccCurve(spec) {
		return nil, nil, ErrKeyMaterial
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return &eccKey{priv: priv}, pub, nil
}

func (k *eccKey) sign(rand io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	d, err := digestOf(alg, mt, msg)
	if err != nil {
		return nil, err
	}
	return ecdsa.SignASN1(rand, k.priv, d)
}

func (k *eccKey) verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	d, err := digestOf(alg, mt, msg)
	if err != nil {
		return false, err
	}
	return ecdsa.VerifyASN1(&k.priv.PublicKey, d, sig), nil
}

func (k *eccKey) agree(peerSPKI []byte) ([]byte, error) {
	p, err := x509.ParsePKIXPublicKey(peerSPKI)
	if err != nil {
		return nil, ErrPublicKey
	}
	peer, ok := p.(*ecdsa.PublicKey)
	if !ok || peer.Curve != k.priv.Curve {
		return nil, ErrPublicKey
	}
	pe, err := peer.ECDH()
	if err != nil {
		return nil, ErrPublicKey
	}
	pr, err := k.priv.ECDH()
	if err != nil {
		return nil, err
	}
	return pr.ECDH(pe)
}

func (k *eccKey) destroy() { k.priv.D.SetInt64(0) }

// secp256k1 (ECC_SECG_P256K1): crypto/x509 does not know the curve, so its
// PKCS #8 (RFC 5208 around RFC 5915) and SubjectPublicKeyInfo are built here.

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

type pkcs8 struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

type spki struct {
	Algo      pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

func secgAlgo() pkix.AlgorithmIdentifier {
	params, _ := asn1.Marshal(oidSecp256k1)
	return pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}
}

type secgKey struct{ priv *secp256k1.PrivateKey }

func generateSECG(rand io.Reader) ([]byte, error) {
	k, err := secp256k1.GeneratePrivateKeyFromRand(rand)
	if err != nil {
		return nil, err
	}
	defer k.Zero()
	return marshalSECG(k)
}

func marshalSECG(k *secp256k1.PrivateKey) ([]byte, error) {
	scalar := k.Serialize()
	defer clear(scalar)
	inner, err := asn1.Marshal(ecPrivateKey{
		Version: 1, PrivateKey: scalar,
		PublicKey: asn1.BitString{Bytes: k.PubKey().SerializeUncompressed(), BitLength: 65 * 8},
	})
	if err != nil {
		return nil, err
	}
	defer clear(inner)
	return asn1.Marshal(pkcs8{Algo: secgAlgo(), PrivateKey: inner})
}

func parseSECG(der []byte) (asymKey, []byte, error) {
	var p pkcs8
	if rest, err := asn1.Unmarshal(der, &p); err != nil || len(rest) != 0 {
		return nil, nil, ErrKeyMaterial
	}
	var curve asn1.ObjectIdentifier
	if !p.Algo.Algorithm.Equal(oidECPublicKey) {
		return nil, nil, ErrKeyMaterial
	}
	if _, err := asn1.Unmarshal(p.Algo.Parameters.FullBytes, &curve); err != nil || !curve.Equal(oidSecp256k1) {
		return nil, nil, ErrKeyMaterial
	}
	var ec ecPrivateKey
	if _, err := asn1.Unmarshal(p.PrivateKey, &ec); err != nil || ec.Version != 1 || len(ec.PrivateKey) != 32 {
		return nil, nil, ErrKeyMaterial
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(ec.PrivateKey); overflow || s.IsZero() {
		return nil, nil, ErrKeyMaterial
	}
	priv := secp256k1.NewPrivateKey(&s)
	pub, err := asn1.Marshal(spki{Algo: secgAlgo(), PublicKey: asn1.BitString{Bytes: priv.PubKey().SerializeUncompressed(), BitLength: 65 * 8}})
	if err != nil {
		return nil, nil, err
	}
	return &secgKey{priv: priv}, pub, nil
}

func (k *secgKey) sign(_ io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	d, err := digestOf(alg, mt, msg)
	if err != nil {
		return nil, err
	}
	// RFC 6979 deterministic nonces; the signature is low-S DER.
	return k1ecdsa.Sign(k.priv, d).Serialize(), nil
}

func (k *secgKey) verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	d, err := digestOf(alg, mt, msg)
	if err != nil {
		return false, err
	}
	r, s, err := parseECDSASignature(sig)
	if err != nil {
		return false, nil
	}
	var rs, ss secp256k1.ModNScalar
	if rs.SetByteSlice(r.Bytes()) || ss.SetByteSlice(s.Bytes()) || rs.IsZero() || ss.IsZero() {
		return false, nil
	}
	return k1ecdsa.NewSignature(&rs, &ss).Verify(d, k.priv.PubKey()), nil
}

// parseECDSASignature reads a DER ECDSA-Sig-Value. Unlike decred's parser it
// accepts high-S signatures, as OpenSSL and the other curves do.
func parseECDSASignature(sig []byte) (r, s *big.Int, err error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &v)
	if err != nil || len(rest) != 0 || v.R.Sign() <= 0 || v.S.Sign() <= 0 || v.R.BitLen() > 256 || v.S.BitLen() > 256 {
		return nil, nil, errors.New("keys: malformed ECDSA signature")
	}
	return v.R, v.S, nil
}

func (k *secgKey) destroy() { k.priv.Zero() }
