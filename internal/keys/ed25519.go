package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"io"
)

type ed25519Key struct{ priv ed25519.PrivateKey }

func generateEd25519(rand io.Reader) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	defer clear(priv)
	return x509.MarshalPKCS8PrivateKey(priv)
}

func parseEd25519(der []byte) (asymKey, []byte, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, nil, ErrKeyMaterial
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return &ed25519Key{priv: priv}, pub, nil
}

// ed25519Input checks the message type each Ed25519 algorithm takes (Sign,
// MessageType: ED25519_SHA_512 requires RAW, ED25519_PH_SHA_512 requires
// DIGEST) and returns what the signature covers: the message for Ed25519,
// and for Ed25519ph the SHA-512 prehash of the 64-byte input, which KMS
// computes even though the input is already a digest ("the input is hashed
// twice").
func ed25519Input(alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, *ed25519.Options, error) {
	switch {
	case alg == ED25519SHA512 && mt == Raw:
		return msg, &ed25519.Options{}, nil
	case alg == ED25519PHSHA512 && mt == Digest:
		if len(msg) != sha512.Size {
			return nil, nil, ErrDigestLength
		}
		ph := sha512.Sum512(msg)
		return ph[:], &ed25519.Options{Hash: crypto.SHA512}, nil
	}
	return nil, nil, ErrMessageType
}

func (k *ed25519Key) sign(_ io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	in, opts, err := ed25519Input(alg, mt, msg)
	if err != nil {
		return nil, err
	}
	return k.priv.Sign(nil, in, opts)
}

func (k *ed25519Key) verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	in, opts, err := ed25519Input(alg, mt, msg)
	if err != nil {
		return false, err
	}
	return ed25519.VerifyWithOptions(k.priv.Public().(ed25519.PublicKey), in, sig, opts) == nil, nil
}

func (k *ed25519Key) destroy() { clear(k.priv) }
