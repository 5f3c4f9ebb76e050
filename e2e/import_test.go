package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/testserver"
)

func importParams(t *testing.T, c *kms.Client, keyID *string, alg types.AlgorithmSpec) *kms.GetParametersForImportOutput {
	t.Helper()
	p, err := c.GetParametersForImport(testserver.Context(t), &kms.GetParametersForImportInput{KeyId: keyID, WrappingAlgorithm: alg, WrappingKeySpec: types.WrappingKeySpecRsa2048})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportSymmetricLifecycle(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	md := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	if md.KeyState != types.KeyStatePendingImport || md.Origin != types.OriginTypeExternal || md.Enabled {
		t.Fatalf("EXTERNAL key metadata = %+v", md)
	}
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "KMSInvalidStateException", *md.Arn+" is pending import.")
	aws := newKey(t, c, nil)
	_, err = c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: aws.KeyId, WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048})
	wantErr(t, err, "UnsupportedOperationException", *aws.Arn+" origin is AWS_KMS which is not valid for this operation.")

	p := importParams(t, c, md.KeyId, types.AlgorithmSpecRsaesOaepSha256)
	if d := time.Until(*p.ParametersValidTo); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("ParametersValidTo is %v away, want 24h", d)
	}
	material := make([]byte, 32)
	rand.Read(material)
	wrapped, err := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA256, material)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped})
	wantErr(t, err, "ValidationException", "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
	validTo := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	imp, err := c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: types.ExpirationModelTypeKeyMaterialExpires, ValidTo: &validTo})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if d.KeyMetadata.KeyState != types.KeyStateEnabled || d.KeyMetadata.ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires || !d.KeyMetadata.ValidTo.Equal(validTo) || *d.KeyMetadata.CurrentKeyMaterialId != *imp.KeyMaterialId {
		t.Fatalf("after import: %+v", d.KeyMetadata)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("under imported material")})
	if err != nil {
		t.Fatal(err)
	}

	// Delete, then the key waits for the same material again.
	if _, err := c.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantErr(t, err, "KMSInvalidStateException", "is pending import.")
	other := make([]byte, 32)
	rand.Read(other)
	p = importParams(t, c, md.KeyId, types.AlgorithmSpecRsaAesKeyWrapSha256)
	w2, _ := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAAESKeyWrapSHA256, other)
	_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: w2, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
	wantErr(t, err, "IncorrectKeyMaterialException", "does not match")
	w3, _ := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAAESKeyWrapSHA256, material)
	again, err := c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: w3, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
	if err != nil || *again.KeyMaterialId != *imp.KeyMaterialId {
		t.Fatalf("reimport = %+v, %v", again, err)
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "under imported material" {
		t.Fatalf("Decrypt after reimport: %v", err)
	}

	// On-demand rotation of an imported key: import new material, then rotate to it.
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId})
	wantErr(t, err, "KMSInvalidStateException", "No available key material pending rotation for the key: "+*md.Arn+".")
	p = importParams(t, c, md.KeyId, types.AlgorithmSpecRsaesOaepSha1)
	w4, _ := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA1, other)
	next, err := c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: w4, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire, ImportType: types.ImportTypeNewKeyMaterial})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if *d.KeyMetadata.CurrentKeyMaterialId != *next.KeyMaterialId {
		t.Fatal("RotateKeyOnDemand did not make the new imported material current")
	}
	if dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil || string(dec.Plaintext) != "under imported material" {
		t.Fatalf("old ciphertext after rotation: %v", err)
	}
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyId})
	wantErr(t, err, "UnsupportedOperationException", *md.Arn+" origin is EXTERNAL which is not valid for this operation.")
}

// opensslWrap wraps material as AWS's guide shows with OpenSSL: RSA-OAEP
// SHA-256 of a fresh AES key, then AES key wrap with padding.
func opensslWrap(t *testing.T, dir string, wrappingKey []byte, material string) []byte {
	putFile(t, dir, "wrap.der", wrappingKey)
	openssl(t, dir, "rand", "-out", "aes.key", "32")
	openssl(t, dir, "pkeyutl", "-encrypt", "-pubin", "-inkey", "wrap.der", "-keyform", "DER", "-in", "aes.key", "-out", "aes.wrapped",
		"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256")
	kek := hex.EncodeToString(getFile(t, dir, "aes.key"))
	openssl(t, dir, "enc", "-id-aes256-wrap-pad", "-iv", "A65959A6", "-K", kek, "-in", material, "-out", "material.wrapped")
	return append(getFile(t, dir, "aes.wrapped"), getFile(t, dir, "material.wrapped")...)
}

func TestInteropImportWrappedByOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl is not installed")
	}
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	imp := func(t *testing.T, md *types.KeyMetadata, dir, material string) {
		p := importParams(t, c, md.KeyId, types.AlgorithmSpecRsaAesKeyWrapSha256)
		wrapped := opensslWrap(t, dir, p.PublicKey, material)
		if _, err := c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("HMAC_256 checked by openssl", func(t *testing.T) {
		dir := t.TempDir()
		md := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		openssl(t, dir, "rand", "-out", "hmac.key", "32")
		imp(t, md, dir, "hmac.key")
		msg := []byte("a token to authenticate")
		putFile(t, dir, "msg", msg)
		mac, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: md.KeyId, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
		if err != nil {
			t.Fatal(err)
		}
		out := openssl(t, dir, "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:"+hex.EncodeToString(getFile(t, dir, "hmac.key")), "msg")
		if !strings.Contains(out, hex.EncodeToString(mac.Mac)) {
			t.Fatalf("Trent's HMAC %x, OpenSSL says %s", mac.Mac, out)
		}
		_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId})
		wantErr(t, err, "UnsupportedOperationException", "")
	})

	t.Run("ECC_NIST_P256 signing key made by openssl", func(t *testing.T) {
		dir := t.TempDir()
		md := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
		openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
		openssl(t, dir, "pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-outform", "DER", "-out", "ec.p8")
		openssl(t, dir, "pkey", "-in", "ec.pem", "-pubout", "-outform", "DER", "-out", "ec.pub")
		openssl(t, dir, "pkey", "-in", "ec.pem", "-pubout", "-out", "ecpub.pem")
		imp(t, md, dir, "ec.p8")
		pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
		if err != nil || !bytes.Equal(pk.PublicKey, getFile(t, dir, "ec.pub")) {
			t.Fatalf("GetPublicKey after import is not OpenSSL's key: %v", err)
		}
		msg := []byte("signed with imported material")
		sig, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
		if err != nil {
			t.Fatal(err)
		}
		putFile(t, dir, "msg", msg)
		putFile(t, dir, "sig", sig.Signature)
		if out := openssl(t, dir, "dgst", "-sha256", "-verify", "ecpub.pem", "-signature", "sig", "msg"); !strings.Contains(out, "Verified OK") {
			t.Fatalf("openssl: %s", out)
		}
		// Wrong-spec material is refused.
		md2 := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecEccNistP384, KeyUsage: types.KeyUsageTypeSignVerify})
		p := importParams(t, c, md2.KeyId, types.AlgorithmSpecRsaAesKeyWrapSha256)
		_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md2.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: opensslWrap(t, dir, p.PublicKey, "ec.p8"), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
		wantErr(t, err, "IncorrectKeyMaterialException", "ECC_NIST_P384")
		// A token is for one key only.
		_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: []byte{1}, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire, ValidTo: nil, KeyMaterialDescription: aws.String("x")})
		wantErr(t, err, "InvalidImportTokenException", "")
	})
}
