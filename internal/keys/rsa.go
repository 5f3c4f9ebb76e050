package keys

import (
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // RSAES_OAEP_SHA_1 and RSA_AES_KEY_WRAP_SHA_1
	"crypto/x509"
	"io"
)

type rsaKey struct{ priv *rsa.PrivateKey }

func rsaBits(spec Spec) int {
	switch spec {
	case SpecRSA2048:
		return 2048
	case SpecRSA3072:
		return 3072
	case SpecRSA4096:
		return 4096
	}
	return 0
}

func generateRSA(rand io.Reader, spec Spec) ([]byte, error) {
	k, err := rsa.GenerateKey(rand, rsaBits(spec))
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(k)
}

func parseRSA(spec Spec, der []byte) (asymKey, []byte, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, err
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok || priv.N.BitLen() != rsaBits(spec) {
		return nil, nil, ErrKeyMaterial
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return &rsaKey{priv: priv}, pub, nil
}

func isPSS(alg SigningAlgorithm) bool {
	return alg == RSASSAPSSSHA256 || alg == RSASSAPSSSHA384 || alg == RSASSAPSSSHA512
}

// pssOptions: KMS's PSS salt is as long as the digest (asymmetric-key-specs,
// "RSA key specs for signing and verification").
func pssOptions(h crypto.Hash) *rsa.PSSOptions { return &rsa.PSSOptions{SaltLength: h.Size(), Hash: h} }

func (k *rsaKey) sign(rand io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	d, err := digestOf(alg, mt, msg)
	if err != nil {
		return nil, err
	}
	h := alg.hash()
	if isPSS(alg) {
		return rsa.SignPSS(rand, k.priv, h, d, pssOptions(h))
	}
	return rsa.SignPKCS1v15(nil, k.priv, h, d)
}

func (k *rsaKey) verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	d, err := digestOf(alg, mt, msg)
	if err != nil {
		return false, err
	}
	h := alg.hash()
	if isPSS(alg) {
		return rsa.VerifyPSS(&k.priv.PublicKey, h, d, sig, pssOptions(h)) == nil, nil
	}
	return rsa.VerifyPKCS1v15(&k.priv.PublicKey, h, d, sig) == nil, nil
}

func oaepHash(alg EncryptionAlgorithm) crypto.Hash {
	if alg == RSAESOAEPSHA1 {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// maxPlaintext is (key size in bytes) - 2*(hash size) - 2 (asymmetric-key-specs,
// "Maximum plaintext size").
func (k *rsaKey) maxPlaintext(alg EncryptionAlgorithm) int {
	return k.priv.Size() - 2*oaepHash(alg).Size() - 2
}

// KMS's OAEP uses the same hash for the label and MGF1, with an empty label.
func (k *rsaKey) encrypt(rand io.Reader, alg EncryptionAlgorithm, pt []byte) ([]byte, error) {
	return rsa.EncryptOAEP(oaepHash(alg).New(), rand, &k.priv.PublicKey, pt, nil)
}

func (k *rsaKey) decrypt(alg EncryptionAlgorithm, ct []byte) ([]byte, error) {
	return rsa.DecryptOAEP(oaepHash(alg).New(), nil, k.priv, ct, nil)
}

// destroy zeroes the big integers; their old backing arrays may survive in
// memory until collected (see Asymmetric).
func (k *rsaKey) destroy() {
	k.priv.D.SetInt64(0)
	for _, p := range k.priv.Primes {
		p.SetInt64(0)
	}
}
