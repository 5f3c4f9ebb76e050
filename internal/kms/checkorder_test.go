package kms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// TestCheckOrder walks each cryptographic operation down AWS's order of
// checks (checks.go): a request with every fault at once gets the first
// one's error, and fixing that fault uncovers the next — the key's
// existence, the caller's permission, the key's state, its type, DryRun —
// until the request succeeds.
func TestCheckOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const missing = "1234abcd-12ab-34cd-56ef-1234567890ab"
	denied := userCaller(e, "mallory") // no identity policy; the default key policy trusts IAM only
	agreement := e.keyIn(t, "ECC_NIST_P256", "KEY_AGREEMENT", "AWS_KMS", Enabled)
	peer, err := e.s.GetPublicKey(ctx, e.caller, &kmsapi.GetPublicKeyRequest{KeyId: agreement.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	type call func(c Caller, id *string, dry bool) error
	tests := []struct {
		op          string
		wrong, good keyKind
		call        call
		typeErr     string // the wrong key's error, ARN for its ARN
	}{
		{op: "Encrypt", wrong: kindSigning, good: kindSymmetric,
			call: func(c Caller, id *string, dry bool) error {
				_, err := e.s.Encrypt(ctx, c, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("p"), DryRun: &dry})
				return err
			}, typeErr: "InvalidKeyUsageException: ARN key usage is SIGN_VERIFY which is not valid for Encrypt."},
		{op: "GenerateDataKey", wrong: keyKind{"RSA_2048", "ENCRYPT_DECRYPT", "AWS_KMS"}, good: kindSymmetric,
			call: func(c Caller, id *string, dry bool) error {
				_, err := e.s.GenerateDataKey(ctx, c, &kmsapi.GenerateDataKeyRequest{KeyId: id, KeySpec: wire.Ptr("AES_256"), DryRun: &dry})
				return err
			}, typeErr: "InvalidKeyUsageException: ARN key spec is RSA_2048 which is not valid for GenerateDataKey."},
		{op: "GenerateDataKeyPair", wrong: kindHMAC, good: kindSymmetric,
			call: func(c Caller, id *string, dry bool) error {
				_, err := e.s.GenerateDataKeyPair(ctx, c, &kmsapi.GenerateDataKeyPairRequest{KeyId: id, KeyPairSpec: wire.Ptr("ECC_NIST_P256"), DryRun: &dry})
				return err
			}, typeErr: "InvalidKeyUsageException: ARN key usage is GENERATE_VERIFY_MAC which is not valid for GenerateDataKeyPair."},
		{op: "Sign", wrong: kindSymmetric, good: kindSigning,
			call: func(c Caller, id *string, dry bool) error {
				_, err := e.s.Sign(ctx, c, &kmsapi.SignRequest{KeyId: id, Message: []byte("m"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256"), DryRun: &dry})
				return err
			}, typeErr: "InvalidKeyUsageException: ARN key usage is ENCRYPT_DECRYPT which is not valid for Sign."},
		{op: "GenerateMac", wrong: kindSymmetric, good: kindHMAC,
			call: func(c Caller, id *string, dry bool) error {
				_, err := e.s.GenerateMac(ctx, c, &kmsapi.GenerateMacRequest{KeyId: id, Message: []byte("m"), MacAlgorithm: wire.Ptr("HMAC_SHA_256"), DryRun: &dry})
				return err
			}, typeErr: "InvalidKeyUsageException: ARN key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."},
		{op: "DeriveSharedSecret", wrong: kindSigning, good: keyKind{"ECC_NIST_P256", "KEY_AGREEMENT", "AWS_KMS"},
			call: func(c Caller, id *string, dry bool) error {
				_, err := e.s.DeriveSharedSecret(ctx, c, &kmsapi.DeriveSharedSecretRequest{KeyId: id, KeyAgreementAlgorithm: wire.Ptr("ECDH"), PublicKey: peer.PublicKey, DryRun: &dry})
				return err
			}, typeErr: "InvalidKeyUsageException: ARN key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			wrong := e.keyIn(t, tt.wrong.spec, tt.wrong.usage, tt.wrong.origin, Disabled)
			good := e.keyIn(t, tt.good.spec, tt.good.usage, tt.good.origin, Enabled)
			enable := func() {
				if _, err := e.s.EnableKey(ctx, e.caller, &kmsapi.EnableKeyRequest{KeyId: wrong.KeyId}); err != nil {
					t.Fatal(err)
				}
			}
			steps := []struct {
				fault  string // what the request still has wrong
				before func() // fixes the previous fault, if the request cannot
				caller Caller
				id     *string
				dry    bool
				want   string // "" success; code: message, ARN the key's ARN, "*" any message
			}{
				{"no such key", nil, denied, wire.Ptr(missing), true,
					"NotFoundException: Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist"},
				{"a caller the key policy does not allow", nil, denied, wrong.KeyId, true, "AccessDeniedException: *"},
				{"a disabled key", nil, e.caller, wrong.KeyId, true, "DisabledException: ARN is disabled."},
				{"a key of the wrong type", enable, e.caller, wrong.KeyId, true, tt.typeErr},
				{"DryRun", nil, e.caller, good.KeyId, true, "DryRunOperationException: The request would have succeeded, but the DryRun option is set."},
				{"nothing", nil, e.caller, good.KeyId, false, ""},
			}
			for _, st := range steps {
				if st.before != nil {
					st.before()
				}
				arn := *wrong.Arn
				if st.id == good.KeyId {
					arn = *good.Arn
				}
				want := strings.Replace(st.want, "ARN", arn, 1)
				got := ""
				if err := tt.call(st.caller, st.id, st.dry); err != nil {
					var we *wire.Error
					if !errors.As(err, &we) {
						t.Fatalf("with %s: %v, not an error a client sees", st.fault, err)
					}
					got = we.Code + ": " + we.Message
				}
				if prefix, anyMsg := strings.CutSuffix(want, "*"); anyMsg && strings.HasPrefix(got, prefix) {
					continue
				}
				if got != want {
					t.Fatalf("with %s still wrong:\n got %q\nwant %q", st.fault, got, want)
				}
			}
		})
	}
}
