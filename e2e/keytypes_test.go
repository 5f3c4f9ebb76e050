package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

func createKey(t *testing.T, c *kms.Client, spec types.KeySpec, usage types.KeyUsageType) *types.KeyMetadata {
	t.Helper()
	return newKey(t, c, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
}

// Every key spec with every usage it allows, and DescribeKey's algorithm
// lists for each.
func TestEveryKeySpecAndUsage(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	cases := []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
		enc   []string
		sign  []string
		mac   []string
		agree []string
	}{
		{spec: types.KeySpecRsa2048, usage: types.KeyUsageTypeEncryptDecrypt, enc: []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}},
		{spec: types.KeySpecRsa3072, usage: types.KeyUsageTypeSignVerify, sign: []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}},
		{spec: types.KeySpecRsa4096, usage: types.KeyUsageTypeEncryptDecrypt, enc: []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}},
		{spec: types.KeySpecEccNistP256, usage: types.KeyUsageTypeSignVerify, sign: []string{"ECDSA_SHA_256"}},
		{spec: types.KeySpecEccNistP384, usage: types.KeyUsageTypeKeyAgreement, agree: []string{"ECDH"}},
		{spec: types.KeySpecEccNistP521, usage: types.KeyUsageTypeSignVerify, sign: []string{"ECDSA_SHA_512"}},
		{spec: types.KeySpecEccSecgP256k1, usage: types.KeyUsageTypeSignVerify, sign: []string{"ECDSA_SHA_256"}},
		{spec: types.KeySpecEccNistEdwards25519, usage: types.KeyUsageTypeSignVerify, sign: []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}},
		{spec: types.KeySpecSm2, usage: types.KeyUsageTypeEncryptDecrypt, enc: []string{"SM2PKE"}},
		{spec: types.KeySpecSm2, usage: types.KeyUsageTypeSignVerify, sign: []string{"SM2DSA"}},
		{spec: types.KeySpecSm2, usage: types.KeyUsageTypeKeyAgreement, agree: []string{"ECDH"}},
		{spec: types.KeySpecHmac224, usage: types.KeyUsageTypeGenerateVerifyMac, mac: []string{"HMAC_SHA_224"}},
		{spec: types.KeySpecHmac512, usage: types.KeyUsageTypeGenerateVerifyMac, mac: []string{"HMAC_SHA_512"}},
		{spec: types.KeySpecMlDsa44, usage: types.KeyUsageTypeSignVerify, sign: []string{"ML_DSA_SHAKE_256"}},
		{spec: types.KeySpecMlDsa65, usage: types.KeyUsageTypeSignVerify, sign: []string{"ML_DSA_SHAKE_256"}},
		{spec: types.KeySpecMlDsa87, usage: types.KeyUsageTypeSignVerify, sign: []string{"ML_DSA_SHAKE_256"}},
	}
	names := func(v any) []string {
		var out []string
		switch l := v.(type) {
		case []types.EncryptionAlgorithmSpec:
			for _, x := range l {
				out = append(out, string(x))
			}
		case []types.SigningAlgorithmSpec:
			for _, x := range l {
				out = append(out, string(x))
			}
		case []types.MacAlgorithmSpec:
			for _, x := range l {
				out = append(out, string(x))
			}
		case []types.KeyAgreementAlgorithmSpec:
			for _, x := range l {
				out = append(out, string(x))
			}
		}
		return out
	}
	for _, tt := range cases {
		t.Run(string(tt.spec)+"/"+string(tt.usage), func(t *testing.T) {
			md := createKey(t, c, tt.spec, tt.usage)
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
			if err != nil {
				t.Fatal(err)
			}
			m := d.KeyMetadata
			if m.KeySpec != tt.spec || m.KeyUsage != tt.usage || m.KeyState != types.KeyStateEnabled {
				t.Fatalf("metadata = %v %v %v", m.KeySpec, m.KeyUsage, m.KeyState)
			}
			if !slices.Equal(names(m.EncryptionAlgorithms), tt.enc) || !slices.Equal(names(m.SigningAlgorithms), tt.sign) ||
				!slices.Equal(names(m.MacAlgorithms), tt.mac) || !slices.Equal(names(m.KeyAgreementAlgorithms), tt.agree) {
				t.Fatalf("algorithms = %v %v %v %v", m.EncryptionAlgorithms, m.SigningAlgorithms, m.MacAlgorithms, m.KeyAgreementAlgorithms)
			}
		})
	}

	// Refusals, in AWS's words (error corpus).
	_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeKeyAgreement})
	wantErr(t, err, "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256})
	wantErr(t, err, "ValidationException", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccSecgP256k1, KeyUsage: types.KeyUsageTypeKeyAgreement})
	wantErr(t, err, "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	wantErr(t, err, "ValidationException", "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256")
}

// signInput is what Sign receives for a message type: the message, or its
// digest under the algorithm's hash.
func signInput(alg types.SigningAlgorithmSpec, mt types.MessageType, msg []byte) []byte {
	if mt != types.MessageTypeDigest {
		return msg
	}
	switch alg {
	case types.SigningAlgorithmSpecRsassaPssSha384, types.SigningAlgorithmSpecRsassaPkcs1V15Sha384, types.SigningAlgorithmSpecEcdsaSha384:
		d := sha512.Sum384(msg)
		return d[:]
	case types.SigningAlgorithmSpecRsassaPssSha512, types.SigningAlgorithmSpecRsassaPkcs1V15Sha512, types.SigningAlgorithmSpecEcdsaSha512, types.SigningAlgorithmSpecEd25519PhSha512:
		d := sha512.Sum512(msg)
		return d[:]
	}
	d := sha256.Sum256(msg)
	return d[:]
}

func TestSignAndVerifyEveryAlgorithm(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	msg := []byte("sign me")
	specs := []types.KeySpec{types.KeySpecRsa2048, types.KeySpecEccNistP256, types.KeySpecEccNistP384, types.KeySpecEccNistP521,
		types.KeySpecEccSecgP256k1, types.KeySpecEccNistEdwards25519, types.KeySpecSm2, types.KeySpecMlDsa44, types.KeySpecMlDsa65, types.KeySpecMlDsa87}
	for _, spec := range specs {
		md := createKey(t, c, spec, types.KeyUsageTypeSignVerify)
		for _, alg := range md.SigningAlgorithms {
			mts := []types.MessageType{types.MessageTypeRaw, types.MessageTypeDigest}
			switch alg {
			case types.SigningAlgorithmSpecEd25519Sha512:
				mts = []types.MessageType{types.MessageTypeRaw}
			case types.SigningAlgorithmSpecEd25519PhSha512:
				mts = []types.MessageType{types.MessageTypeDigest}
			case types.SigningAlgorithmSpecMlDsaShake256:
				mts = []types.MessageType{types.MessageTypeRaw}
			}
			for _, mt := range mts {
				t.Run(string(spec)+"/"+string(alg)+"/"+string(mt), func(t *testing.T) {
					in := signInput(alg, mt, msg)
					sig, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: in, MessageType: mt, SigningAlgorithm: alg})
					if err != nil {
						t.Fatal(err)
					}
					if *sig.KeyId != *md.Arn || sig.SigningAlgorithm != alg {
						t.Fatalf("Sign response = %+v", sig)
					}
					v, err := c.Verify(ctx, &kms.VerifyInput{KeyId: md.KeyId, Message: in, MessageType: mt, SigningAlgorithm: alg, Signature: sig.Signature})
					if err != nil || !v.SignatureValid {
						t.Fatalf("Verify = %+v, %v", v, err)
					}
					bad := bytes.Clone(sig.Signature)
					bad[len(bad)/2] ^= 0x10
					_, err = c.Verify(ctx, &kms.VerifyInput{KeyId: md.KeyId, Message: in, MessageType: mt, SigningAlgorithm: alg, Signature: bad})
					wantErr(t, err, "KMSInvalidSignatureException", "")
				})
			}
		}
		if spec == types.KeySpecMlDsa65 {
			t.Run("ML_DSA_65/EXTERNAL_MU", func(t *testing.T) {
				sig, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: make([]byte, 64), MessageType: types.MessageTypeExternalMu, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256})
				if err != nil || len(sig.Signature) != 3309 {
					t.Fatalf("Sign EXTERNAL_MU = %v", err)
				}
				_, err = c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: make([]byte, 32), MessageType: types.MessageTypeExternalMu, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256})
				wantErr(t, err, "ValidationException", "Digest is invalid length for algorithm ML_DSA_SHAKE_256.")
			})
		}
	}

	ec := createKey(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	_, err := c.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: make([]byte, 31), MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr(t, err, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.")
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha384})
	wantErr(t, err, "InvalidKeyUsageException", "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.")
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: make([]byte, 4097), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr(t, err, "ValidationException", "Member must have length less than or equal to 4096")
	hm := createKey(t, c, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: hm.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr(t, err, "InvalidKeyUsageException", *hm.Arn+" key usage is GENERATE_VERIFY_MAC which is not valid for Sign.")
	sym := newKey(t, c, nil)
	_, err = c.Verify(ctx, &kms.VerifyInput{KeyId: sym.KeyId, Message: msg, Signature: []byte{1}, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr(t, err, "InvalidKeyUsageException", *sym.Arn+" key usage is ENCRYPT_DECRYPT which is not valid for Verify.")
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: ec.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantErr(t, err, "DisabledException", *ec.Arn+" is disabled.")
}

// GetPublicKey's key verifies Trent's signatures in the standard library.
func TestGetPublicKeyVerifiesOutsideKMS(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	msg := []byte("verify me elsewhere")
	cases := []struct {
		spec types.KeySpec
		alg  types.SigningAlgorithmSpec
	}{
		{types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPssSha256},
		{types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPkcs1V15Sha512},
		{types.KeySpecEccNistP256, types.SigningAlgorithmSpecEcdsaSha256},
		{types.KeySpecEccNistP521, types.SigningAlgorithmSpecEcdsaSha512},
		{types.KeySpecEccNistEdwards25519, types.SigningAlgorithmSpecEd25519Sha512},
	}
	for _, tt := range cases {
		t.Run(string(tt.spec)+"/"+string(tt.alg), func(t *testing.T) {
			md := createKey(t, c, tt.spec, types.KeyUsageTypeSignVerify)
			pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
			if err != nil {
				t.Fatal(err)
			}
			if pk.KeySpec != tt.spec || pk.KeyUsage != types.KeyUsageTypeSignVerify || !slices.Contains(pk.SigningAlgorithms, tt.alg) || len(pk.EncryptionAlgorithms) != 0 {
				t.Fatalf("GetPublicKey metadata = %+v", pk)
			}
			sig, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: msg, SigningAlgorithm: tt.alg})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			switch p := pub.(type) {
			case *rsa.PublicKey:
				if tt.alg == types.SigningAlgorithmSpecRsassaPssSha256 {
					d := sha256.Sum256(msg)
					err = rsa.VerifyPSS(p, crypto.SHA256, d[:], sig.Signature, &rsa.PSSOptions{SaltLength: 32})
				} else {
					d := sha512.Sum512(msg)
					err = rsa.VerifyPKCS1v15(p, crypto.SHA512, d[:], sig.Signature)
				}
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(p, signInput(tt.alg, types.MessageTypeDigest, msg), sig.Signature) {
					t.Fatal("ecdsa.VerifyASN1 rejects Trent's signature")
				}
			case ed25519.PublicKey:
				if !ed25519.Verify(p, msg, sig.Signature) {
					t.Fatal("ed25519.Verify rejects Trent's signature")
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	sym := newKey(t, c, nil)
	_, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: sym.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "key spec is SYMMETRIC_DEFAULT")
}

func TestAsymmetricEncryptDecrypt(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	rsaKey := createKey(t, c, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
	sm2Key := createKey(t, c, types.KeySpecSm2, types.KeyUsageTypeEncryptDecrypt)
	cases := []struct {
		key *types.KeyMetadata
		alg types.EncryptionAlgorithmSpec
		max int
	}{
		{rsaKey, types.EncryptionAlgorithmSpecRsaesOaepSha1, 214},
		{rsaKey, types.EncryptionAlgorithmSpecRsaesOaepSha256, 190},
		{sm2Key, types.EncryptionAlgorithmSpecSm2pke, 1024},
	}
	for _, tt := range cases {
		t.Run(string(tt.alg), func(t *testing.T) {
			pt := bytes.Repeat([]byte("k"), tt.max)
			enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: tt.key.KeyId, Plaintext: pt, EncryptionAlgorithm: tt.alg})
			if err != nil || enc.EncryptionAlgorithm != tt.alg {
				t.Fatalf("Encrypt = %+v, %v", enc, err)
			}
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: tt.key.Arn, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: tt.alg})
			if err != nil || !bytes.Equal(dec.Plaintext, pt) || *dec.KeyId != *tt.key.Arn {
				t.Fatalf("Decrypt = %v", err)
			}
			_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: tt.key.KeyId, Plaintext: append(pt, 'x'), EncryptionAlgorithm: tt.alg})
			wantErr(t, err, "ValidationException", "cannot encrypt data larger than")
		})
	}
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: rsaKey.KeyId, Plaintext: make([]byte, 215), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
	wantErr(t, err, "ValidationException", "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than 214 bytes.")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: rsaKey.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: rsaKey.KeyId, CiphertextBlob: make([]byte, 256), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	wantErr(t, err, "InvalidCiphertextException", "")
	signer := createKey(t, c, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: signer.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	wantErr(t, err, "InvalidKeyUsageException", *signer.Arn+" key usage is SIGN_VERIFY which is not valid for Encrypt.")

	// ReEncrypt from a symmetric key into the RSA key and back.
	sym := newKey(t, c, nil)
	enc, _ := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("moving")})
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: rsaKey.KeyId, DestinationEncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: re.CiphertextBlob, SourceKeyId: rsaKey.KeyId, SourceEncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256, DestinationKeyId: sym.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: back.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "moving" {
		t.Fatalf("round trip through RSA = %v", err)
	}
}

func TestHMAC(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	msg := []byte("token payload")
	for _, tt := range []struct {
		spec types.KeySpec
		alg  types.MacAlgorithmSpec
		size int
	}{
		{types.KeySpecHmac224, types.MacAlgorithmSpecHmacSha224, 28}, {types.KeySpecHmac256, types.MacAlgorithmSpecHmacSha256, 32},
		{types.KeySpecHmac384, types.MacAlgorithmSpecHmacSha384, 48}, {types.KeySpecHmac512, types.MacAlgorithmSpecHmacSha512, 64},
	} {
		t.Run(string(tt.spec), func(t *testing.T) {
			md := createKey(t, c, tt.spec, types.KeyUsageTypeGenerateVerifyMac)
			m, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: md.KeyId, Message: msg, MacAlgorithm: tt.alg})
			if err != nil || len(m.Mac) != tt.size || m.MacAlgorithm != tt.alg {
				t.Fatalf("GenerateMac = %+v, %v", m, err)
			}
			v, err := c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: md.KeyId, Message: msg, MacAlgorithm: tt.alg, Mac: m.Mac})
			if err != nil || !v.MacValid {
				t.Fatalf("VerifyMac = %+v, %v", v, err)
			}
			m.Mac[0] ^= 1
			_, err = c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: md.KeyId, Message: msg, MacAlgorithm: tt.alg, Mac: m.Mac})
			wantErr(t, err, "KMSInvalidMacException", "")
		})
	}
	h224 := createKey(t, c, types.KeySpecHmac224, types.KeyUsageTypeGenerateVerifyMac)
	_, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: h224.KeyId, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	wantErr(t, err, "InvalidKeyUsageException", "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.")
	sym := newKey(t, c, nil)
	_, err = c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: sym.KeyId, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	wantErr(t, err, "InvalidKeyUsageException", *sym.Arn+" key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.")
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: h224.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "")
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: h224.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "")
}

func TestGenerateDataKeyPairEverySpec(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	sym := newKey(t, c, nil)
	ec := map[string]string{"purpose": "pairs"}
	for _, spec := range []types.DataKeyPairSpec{types.DataKeyPairSpecRsa2048, types.DataKeyPairSpecRsa3072, types.DataKeyPairSpecRsa4096,
		types.DataKeyPairSpecEccNistP256, types.DataKeyPairSpecEccNistP384, types.DataKeyPairSpecEccNistP521, types.DataKeyPairSpecEccSecgP256k1,
		types.DataKeyPairSpecEccNistEdwards25519, types.DataKeyPairSpecSm2} {
		t.Run(string(spec), func(t *testing.T) {
			out, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: spec, EncryptionContext: ec})
			if err != nil {
				t.Fatal(err)
			}
			if out.KeyPairSpec != spec || *out.KeyId != *sym.Arn || out.KeyMaterialId == nil {
				t.Fatalf("response = %+v", out)
			}
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: ec})
			if err != nil || !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
				t.Fatalf("encrypted private key does not decrypt to the plaintext one: %v", err)
			}
			if spec != types.DataKeyPairSpecEccSecgP256k1 && spec != types.DataKeyPairSpecSm2 {
				priv, err := x509.ParsePKCS8PrivateKey(out.PrivateKeyPlaintext)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := x509.MarshalPKIXPublicKey(priv.(crypto.Signer).Public())
				if err != nil || !bytes.Equal(pub, out.PublicKey) {
					t.Fatal("PublicKey does not belong to PrivateKeyPlaintext")
				}
			}
			np, err := c.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: sym.KeyId, KeyPairSpec: spec, EncryptionContext: ec})
			if err != nil || len(np.PublicKey) == 0 || len(np.PrivateKeyCiphertextBlob) == 0 {
				t.Fatalf("WithoutPlaintext = %v", err)
			}
		})
	}
	rsaKey := createKey(t, c, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
	_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: rsaKey.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256})
	wantErr(t, err, "InvalidKeyUsageException", "key spec is RSA_2048 which is not valid for GenerateDataKeyPair.")
}

func TestDeriveSharedSecret(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	for _, tt := range []struct {
		spec  types.KeySpec
		curve ecdh.Curve
	}{{types.KeySpecEccNistP256, ecdh.P256()}, {types.KeySpecEccNistP384, ecdh.P384()}, {types.KeySpecEccNistP521, ecdh.P521()}} {
		t.Run(string(tt.spec), func(t *testing.T) {
			md := createKey(t, c, tt.spec, types.KeyUsageTypeKeyAgreement)
			peer, _ := tt.curve.GenerateKey(rand.Reader)
			peerDER, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
			out, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peerDER})
			if err != nil {
				t.Fatal(err)
			}
			pk, _ := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
			p, _ := x509.ParsePKIXPublicKey(pk.PublicKey)
			mine, _ := p.(*ecdsa.PublicKey).ECDH()
			want, _ := peer.ECDH(mine)
			if !bytes.Equal(out.SharedSecret, want) || out.KeyAgreementAlgorithm != types.KeyAgreementAlgorithmSpecEcdh || out.KeyOrigin != types.OriginTypeAwsKms {
				t.Fatalf("DeriveSharedSecret = %+v", out)
			}
		})
	}
	p256 := createKey(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeKeyAgreement)
	_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: p256.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte("not a key")})
	wantErr(t, err, "ValidationException", "")
	signer := createKey(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	_, err = c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: signer.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte{1}})
	wantErr(t, err, "InvalidKeyUsageException", *signer.Arn+" key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.")
	sym := newKey(t, c, nil)
	_, err = c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: sym.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte{1}})
	wantErr(t, err, "InvalidKeyUsageException", *sym.Arn+" key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret.")
}
