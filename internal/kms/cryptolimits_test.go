package kms

import (
	"context"
	"fmt"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// The limits of the cryptographic operations that the Service applies
// beyond the model, with the errors AWS returned for them
// (../shared/conformance/aws-kms-error-messages.tsv, the rows named in each
// case): the largest plaintext an RSA key encrypts by algorithm, the digest
// length of each signing algorithm, the MAC algorithm of each HMAC key
// spec, and GenerateRandom's required size.
func TestCryptoLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keyOf := map[keyKind]*kmsapi.KeyMetadata{}
	key := func(kind keyKind) *string {
		if keyOf[kind] == nil {
			keyOf[kind] = e.keyIn(t, kind.spec, kind.usage, kind.origin, Enabled)
		}
		return keyOf[kind].KeyId
	}
	type tc struct {
		name     string
		call     func() error
		code     string // "" success
		msg      string
		recorded string // the corpus row
	}
	var tests []tc
	// generate-random-exc: the largest plaintext of RSAES_OAEP is the
	// modulus less twice the hash and two bytes.
	for _, r := range []struct {
		spec    string
		sha1    int
		sha256  int
		modulus int
	}{{"RSA_2048", 214, 190, 256}, {"RSA_3072", 342, 318, 384}, {"RSA_4096", 470, 446, 512}} {
		for alg, max := range map[string]int{"RSAES_OAEP_SHA_1": r.sha1, "RSAES_OAEP_SHA_256": r.sha256} {
			kind := keyKind{r.spec, "ENCRYPT_DECRYPT", "AWS_KMS"}
			encrypt := func(n int) func() error {
				return func() error {
					_, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: key(kind), Plaintext: make([]byte, n), EncryptionAlgorithm: wire.Ptr(alg)})
					return err
				}
			}
			tests = append(tests,
				tc{name: fmt.Sprintf("%s %s %d bytes", r.spec, alg, max), call: encrypt(max)},
				tc{name: fmt.Sprintf("%s %s %d bytes", r.spec, alg, max+1), call: encrypt(max + 1), code: "ValidationException",
					msg: fmt.Sprintf("Algorithm %s and key spec %s cannot encrypt data larger than %d bytes.", alg, r.spec, max), recorded: "generate-random-exc"})
		}
	}
	// bad-digest: a DIGEST message must be as long as the algorithm's hash.
	for _, d := range []struct {
		kind keyKind
		alg  string
		size int
	}{
		{keyKind{"RSA_2048", "SIGN_VERIFY", "AWS_KMS"}, "RSASSA_PSS_SHA_256", 32},
		{keyKind{"RSA_2048", "SIGN_VERIFY", "AWS_KMS"}, "RSASSA_PKCS1_V1_5_SHA_512", 64},
		{kindSigning, "ECDSA_SHA_256", 32},
		{keyKind{"ECC_NIST_P384", "SIGN_VERIFY", "AWS_KMS"}, "ECDSA_SHA_384", 48},
	} {
		sign := func(n int) func() error {
			return func() error {
				_, err := e.s.Sign(ctx, e.caller, &kmsapi.SignRequest{KeyId: key(d.kind), Message: make([]byte, n), MessageType: wire.Ptr("DIGEST"), SigningAlgorithm: wire.Ptr(d.alg)})
				return err
			}
		}
		tests = append(tests,
			tc{name: fmt.Sprintf("%s digest of %d bytes", d.alg, d.size), call: sign(d.size)},
			tc{name: fmt.Sprintf("%s digest of %d bytes", d.alg, d.size-1), call: sign(d.size - 1), code: "ValidationException",
				msg: "Digest is invalid length for algorithm " + d.alg + ".", recorded: "bad-digest"})
	}
	// generate-mac, verify-mac: an HMAC key takes the algorithm of its spec.
	for _, m := range []struct{ spec, alg string }{{"HMAC_224", "HMAC_SHA_256"}, {"HMAC_256", "HMAC_SHA_512"}} {
		tests = append(tests, tc{name: m.spec + " with " + m.alg, code: "InvalidKeyUsageException", recorded: "generate-mac",
			msg: "Algorithm " + m.alg + " is incompatible with key spec " + m.spec + ".",
			call: func() error {
				_, err := e.s.GenerateMac(ctx, e.caller, &kmsapi.GenerateMacRequest{KeyId: key(keyKind{m.spec, "GENERATE_VERIFY_MAC", "AWS_KMS"}), Message: []byte("m"), MacAlgorithm: wire.Ptr(m.alg)})
				return err
			}})
	}
	tests = append(tests, tc{name: "GenerateRandom without NumberOfBytes", code: "ValidationException", msg: "NumberOfBytes is required.", recorded: "generate-random-exc",
		call: func() error {
			_, err := e.s.GenerateRandom(ctx, e.caller, &kmsapi.GenerateRandomRequest{})
			return err
		}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.code == "" {
				if err != nil {
					t.Fatalf("at the limit: %v", err)
				}
				return
			}
			t.Logf("AWS recorded this error in the corpus as %s", tt.recorded)
			wantWireError(t, err, tt.code, tt.msg)
		})
	}
}
