package kms

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// DryRunModifiers IGNORE_CIPHERTEXT tests permissions without a valid
// ciphertext: the named key is resolved, authorized and checked, the
// ciphertext is not (Decrypt and ReEncrypt, DryRunModifiers).
func TestDryRunIgnoreCiphertext(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	rsa := e.keyIn(t, "RSA_2048", "ENCRYPT_DECRYPT", "AWS_KMS", Enabled)
	disabled := e.keyIn(t, "SYMMETRIC_DEFAULT", "", "AWS_KMS", Disabled)
	junk := []byte("not a ciphertext at all")
	ignore := []string{"IGNORE_CIPHERTEXT"}
	dry := wire.Ptr(true)
	decrypt := func(in *kmsapi.DecryptRequest) error {
		_, err := e.s.Decrypt(ctx, e.caller, in)
		return err
	}
	reencrypt := func(in *kmsapi.ReEncryptRequest) error {
		_, err := e.s.ReEncrypt(ctx, e.caller, in)
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Decrypt", decrypt(&kmsapi.DecryptRequest{KeyId: k.KeyId, CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "DryRunOperationException"},
		{"Decrypt with an asymmetric key and its algorithm", decrypt(&kmsapi.DecryptRequest{KeyId: rsa.KeyId, CiphertextBlob: junk, EncryptionAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), DryRun: dry, DryRunModifiers: ignore}), "DryRunOperationException"},
		{"Decrypt with an asymmetric key and no algorithm", decrypt(&kmsapi.DecryptRequest{KeyId: rsa.KeyId, CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "InvalidKeyUsageException"},
		{"Decrypt without the modifier checks the ciphertext", decrypt(&kmsapi.DecryptRequest{KeyId: k.KeyId, CiphertextBlob: junk, DryRun: dry}), "InvalidCiphertextException"},
		{"the modifier without DryRun is ignored", decrypt(&kmsapi.DecryptRequest{KeyId: k.KeyId, CiphertextBlob: junk, DryRunModifiers: ignore}), "InvalidCiphertextException"},
		{"Decrypt needs the KeyId", decrypt(&kmsapi.DecryptRequest{CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "ValidationException"},
		{"Decrypt still checks the key's state", decrypt(&kmsapi.DecryptRequest{KeyId: disabled.KeyId, CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "DisabledException"},
		{"ReEncrypt", reencrypt(&kmsapi.ReEncryptRequest{SourceKeyId: k.KeyId, DestinationKeyId: k.KeyId, CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "DryRunOperationException"},
		{"ReEncrypt needs the SourceKeyId", reencrypt(&kmsapi.ReEncryptRequest{DestinationKeyId: k.KeyId, CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "ValidationException"},
		{"ReEncrypt still checks the destination", reencrypt(&kmsapi.ReEncryptRequest{SourceKeyId: k.KeyId, DestinationKeyId: disabled.KeyId, CiphertextBlob: junk, DryRun: dry, DryRunModifiers: ignore}), "DisabledException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code(tt.err) != tt.want {
				t.Fatalf("%v, want %s", tt.err, tt.want)
			}
		})
	}
}
