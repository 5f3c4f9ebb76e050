package keys

import (
	"crypto/ecdsa"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// SM2 (GM/T 0003) through github.com/emmansun/gmsm. KMS signs RAW messages
// with the default distinguishing ID 1234567812345678 (GM/T 0009), and its
// SM2PKE ciphertexts are the ASN.1 C1C3C2 form OpenSSL also produces
// (asymmetric-key-specs, "Offline operations with SM2").

// sm2MaxPlaintext is KMS's SM2PKE plaintext limit.
const sm2MaxPlaintext = 1024

var sm2DefaultUID = []byte("1234567812345678")

type sm2Key struct{ priv *sm2.PrivateKey }

func generateSM2(rand io.Reader) ([]byte, error) {
	k, err := sm2.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	defer k.D.SetInt64(0)
	return smx509.MarshalPKCS8PrivateKey(k)
}

func parseSM2(der []byte) (asymKey, []byte, error) {
	k, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, err
	}
	priv, ok := k.(*sm2.PrivateKey)
	if !ok {
		return nil, nil, ErrKeyMaterial
	}
	pub, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return &sm2Key{priv: priv}, pub, nil
}

func (k *sm2Key) sign(rand io.Reader, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error) {
	switch mt {
	case Raw:
		return sm2.SignASN1(rand, k.priv, msg, sm2.NewSM2SignerOption(true, sm2DefaultUID))
	case Digest:
		if len(msg) != 32 { // an SM3 digest
			return nil, ErrDigestLength
		}
		return sm2.SignASN1(rand, k.priv, msg, nil)
	}
	return nil, ErrMessageType
}

func (k *sm2Key) verify(alg SigningAlgorithm, mt MessageType, msg, sig []byte) (bool, error) {
	switch mt {
	case Raw:
		return sm2.VerifyASN1WithSM2(&k.priv.PublicKey, sm2DefaultUID, msg, sig), nil
	case Digest:
		if len(msg) != 32 {
			return false, ErrDigestLength
		}
		return sm2.VerifyASN1(&k.priv.PublicKey, msg, sig), nil
	}
	return false, ErrMessageType
}

func (k *sm2Key) maxPlaintext(EncryptionAlgorithm) int { return sm2MaxPlaintext }

func (k *sm2Key) encrypt(rand io.Reader, _ EncryptionAlgorithm, pt []byte) ([]byte, error) {
	return sm2.EncryptASN1(rand, &k.priv.PublicKey, pt)
}

func (k *sm2Key) decrypt(_ EncryptionAlgorithm, ct []byte) ([]byte, error) {
	return k.priv.Decrypt(nil, ct, &sm2.DecrypterOpts{CiphertextEncoding: sm2.ENCODING_ASN1})
}

func (k *sm2Key) agree(peerSPKI []byte) ([]byte, error) {
	p, err := smx509.ParsePKIXPublicKey(peerSPKI)
	if err != nil {
		return nil, ErrPublicKey
	}
	peer, ok := p.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(peer) {
		return nil, ErrPublicKey
	}
	pe, err := sm2.PublicKeyToECDH(peer)
	if err != nil {
		return nil, ErrPublicKey
	}
	pr, err := k.priv.ECDH()
	if err != nil {
		return nil, err
	}
	return pr.ECDH(pe)
}

func (k *sm2Key) destroy() { k.priv.D.SetInt64(0) }
