package keys

import (
	"io"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	mldsax509 "filippo.io/mldsa/x509"
)

// ML-DSA (FIPS 204) through filippo.io/mldsa, the standard library's
// crypto/mldsa for Go versions before it ships. KMS signs RAW messages with
// pure ML-DSA and an empty context, or an external μ (64 bytes).

const mlDSAMuSize = 64

type mldsaKey struct {
	priv *mldsa.PrivateKey
	pub  *mldsa.PublicKey
}

func mldsaParams(spec Spec) mldsa.Parameters {
	switch spec {
	case SpecMLDSA44:
		return mldsa.MLDSA44()
	case SpecMLDSA65:
		return mldsa.MLDSA65()
	}
	return mldsa.MLDSA87()
}

func generateMLDSA(spec Spec) ([]byte, error) {
	// The package draws from crypto/rand itself, as the standard library
	// does since Go 1.24.
	k, err := mldsa.GenerateKey(mldsaParams(spec))
	if err != nil {
		return nil, err
	}
	return mldsax509.MarshalPKCS8PrivateKey(k)
}

func parseMLDSA(spec Spec, der []byte) (asymKey, []byte, error) {
	k, err := mldsax509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, err
	}
	priv, ok := k.(*mldsa.PrivateKey)
	if !ok || priv.PublicKey().Parameters() != mldsaParams(spec) {
		return nil, nil, ErrKeyMaterial
	}
	pub, err := mldsax509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		return nil, nil, err
	}
	return &mldsaKey{priv: priv, pub: priv.PublicKey()}, pub, nil
}

func (k *mldsaKey) sign(rand io.Reader, _ SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	switch mt {
	case Raw:
		return k.priv.Sign(rand, msg, nil)
	case ExternalMu:
		if len(msg) != mlDSAMuSize {
			return nil, ErrDigestLength
		}
		return k.priv.Sign(rand, msg, mldsacrypto.MLDSAMu)
	}
	return nil, ErrMessageType
}

// verify checks RAW messages. Verifying against an external μ needs
// ML-DSA.Verify_internal, which no Go package exports yet.
func (k *mldsaKey) verify(_ SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	switch mt {
	case Raw:
		return mldsa.Verify(k.pub, msg, sig, nil) == nil, nil
	case ExternalMu:
		if len(msg) != mlDSAMuSize {
			return false, ErrDigestLength
		}
		return false, ErrUnsupported
	}
	return false, ErrMessageType
}

// destroy: the package keeps the seed and expanded key unexported; they
// become garbage with the key.
func (k *mldsaKey) destroy() {}
