package e2e

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/testserver"
)

// Interoperability with a tool nobody here wrote: OpenSSL 3 verifies Trent's
// signatures, encrypts for Trent's keys, wraps key material for import,
// computes HMACs and ECDH secrets that must equal Trent's.

// openssl runs the openssl command in dir and returns its output; the test
// is skipped when openssl is missing (scripts/test.sh installs it).
func openssl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		testenv.Missing(t, "openssl is not installed")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func putFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func getFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publicPEM fetches a key's public key and writes it as PEM.
func publicPEM(t *testing.T, c *kms.Client, keyID *string, dir, name string) []byte {
	t.Helper()
	pk, err := c.GetPublicKey(testserver.Context(t), &kms.GetPublicKeyInput{KeyId: keyID})
	if err != nil {
		t.Fatal(err)
	}
	putFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk.PublicKey}))
	return pk.PublicKey
}

func TestInteropOpenSSLVerifiesSignatures(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl is not installed")
	}
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	msg := []byte("signed by Trent, checked by OpenSSL")
	cases := []struct {
		spec types.KeySpec
		alg  types.SigningAlgorithmSpec
		args []string // openssl arguments before the key, signature and message
	}{
		{types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, []string{"dgst", "-sha256"}},
		{types.KeySpecRsa3072, types.SigningAlgorithmSpecRsassaPssSha384, []string{"dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48", "-sigopt", "rsa_mgf1_md:sha384"}},
		{types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPssSha512, []string{"dgst", "-sha512", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:64"}},
		{types.KeySpecEccNistP256, types.SigningAlgorithmSpecEcdsaSha256, []string{"dgst", "-sha256"}},
		{types.KeySpecEccNistP384, types.SigningAlgorithmSpecEcdsaSha384, []string{"dgst", "-sha384"}},
		{types.KeySpecEccNistP521, types.SigningAlgorithmSpecEcdsaSha512, []string{"dgst", "-sha512"}},
		{types.KeySpecEccSecgP256k1, types.SigningAlgorithmSpecEcdsaSha256, []string{"dgst", "-sha256"}},
		{types.KeySpecSm2, types.SigningAlgorithmSpecSm2dsa, []string{"dgst", "-sm3", "-sigopt", "distid:1234567812345678"}},
		{types.KeySpecEccNistEdwards25519, types.SigningAlgorithmSpecEd25519Sha512, nil},
	}
	for _, tt := range cases {
		t.Run(string(tt.spec)+"/"+string(tt.alg), func(t *testing.T) {
			dir := t.TempDir()
			md := createKey(t, c, tt.spec, types.KeyUsageTypeSignVerify)
			publicPEM(t, c, md.KeyId, dir, "pub.pem")
			sig, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: msg, SigningAlgorithm: tt.alg})
			if err != nil {
				t.Fatal(err)
			}
			putFile(t, dir, "sig", sig.Signature)
			putFile(t, dir, "msg", msg)
			var out string
			if tt.args == nil { // Ed25519 signs the message itself
				out = openssl(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile", "sig")
			} else {
				out = openssl(t, dir, append(tt.args, "-verify", "pub.pem", "-signature", "sig", "msg")...)
			}
			if !strings.Contains(out, "Verified") && !strings.Contains(out, "Verification Success") {
				t.Fatalf("openssl says: %s", out)
			}
		})
	}
}

func TestInteropOpenSSLEncryptsTrentDecrypts(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl is not installed")
	}
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	pt := []byte("encrypted by OpenSSL under a public key from GetPublicKey")
	cases := []struct {
		spec types.KeySpec
		alg  types.EncryptionAlgorithmSpec
		opts []string
	}{
		{types.KeySpecRsa2048, types.EncryptionAlgorithmSpecRsaesOaepSha1, []string{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1"}},
		{types.KeySpecRsa3072, types.EncryptionAlgorithmSpecRsaesOaepSha256, []string{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"}},
		{types.KeySpecSm2, types.EncryptionAlgorithmSpecSm2pke, nil},
	}
	for _, tt := range cases {
		t.Run(string(tt.alg), func(t *testing.T) {
			dir := t.TempDir()
			md := createKey(t, c, tt.spec, types.KeyUsageTypeEncryptDecrypt)
			publicPEM(t, c, md.KeyId, dir, "pub.pem")
			putFile(t, dir, "pt", pt)
			openssl(t, dir, append([]string{"pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "pt", "-out", "ct"}, tt.opts...)...)
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: md.KeyId, CiphertextBlob: getFile(t, dir, "ct"), EncryptionAlgorithm: tt.alg})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec.Plaintext, pt) {
				t.Fatalf("Trent decrypted %q", dec.Plaintext)
			}
		})
	}
}

func TestInteropECDHMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl is not installed")
	}
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	for _, tt := range []struct {
		spec  types.KeySpec
		curve string
	}{{types.KeySpecEccNistP256, "P-256"}, {types.KeySpecEccNistP384, "P-384"}, {types.KeySpecEccNistP521, "P-521"}} {
		// OpenSSL 3.0 does not derive with SM2 keys; keys' unit tests check SM2 ECDH both ways.
		t.Run(string(tt.spec), func(t *testing.T) {
			dir := t.TempDir()
			md := createKey(t, c, tt.spec, types.KeyUsageTypeKeyAgreement)
			publicPEM(t, c, md.KeyId, dir, "kms.pem")
			openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+tt.curve, "-out", "peer.pem")
			openssl(t, dir, "pkey", "-in", "peer.pem", "-pubout", "-outform", "DER", "-out", "peer.der")
			openssl(t, dir, "pkeyutl", "-derive", "-inkey", "peer.pem", "-peerkey", "kms.pem", "-out", "secret")
			out, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: getFile(t, dir, "peer.der")})
			if err != nil {
				t.Fatal(err)
			}
			if want := getFile(t, dir, "secret"); !bytes.Equal(out.SharedSecret, want) {
				t.Fatalf("Trent's secret %x, OpenSSL's %x", out.SharedSecret, want)
			}
		})
	}
}
