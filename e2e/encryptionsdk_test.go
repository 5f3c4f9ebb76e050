package e2e

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdk "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygenerated"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// TestEncryptionSDK runs an envelope-encryption round trip through the
// official AWS Encryption SDK for Go: its AWS KMS keyring calls
// GenerateDataKey on encrypt and Decrypt on decrypt, through an
// aws-sdk-go-v2 client pointed at Trent.
func TestEncryptionSDK(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config("us-east-1"))
	ctx := testserver.Context(t)

	key := newKey(t, c, nil)
	other := newKey(t, c, nil)

	mp, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		t.Fatal(err)
	}
	keyring := func(arn string) mpltypes.IKeyring {
		t.Helper()
		kr, err := mp.CreateAwsKmsKeyring(ctx, mpltypes.CreateAwsKmsKeyringInput{KmsClient: c, KmsKeyId: arn})
		if err != nil {
			t.Fatalf("CreateAwsKmsKeyring(%s): %v", arn, err)
		}
		return kr
	}

	// The default commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT, is the
	// one AWS recommends; set it so a change of default cannot weaken the test.
	policy := mpltypes.ESDKCommitmentPolicyRequireEncryptRequireDecrypt
	sdk, err := esdk.NewClient(esdktypes.AwsEncryptionSdkConfig{CommitmentPolicy: &policy})
	if err != nil {
		t.Fatal(err)
	}

	plaintext := bytes.Repeat([]byte("envelope encryption through Trent. "), 300) // > one 4 KiB frame
	ec := map[string]string{"tenant": "acme", "purpose": "e2e"}
	enc, err := sdk.Encrypt(ctx, esdktypes.EncryptInput{Plaintext: plaintext, EncryptionContext: ec, Keyring: keyring(*key.Arn)})
	if err != nil {
		t.Fatalf("Encrypt: %v\nserver log:\n%s", err, srv.Stderr())
	}
	if bytes.Contains(enc.Ciphertext, plaintext[:64]) {
		t.Fatal("ciphertext contains the plaintext")
	}
	// The SDK adds its own pair (the signing key of the default,
	// ECDSA-signed algorithm suite) to the caller's context.
	for k, v := range ec {
		if enc.EncryptionContext[k] != v {
			t.Fatalf("Encrypt context = %v, want it to contain %v", enc.EncryptionContext, ec)
		}
	}

	dec, err := sdk.Decrypt(ctx, esdktypes.DecryptInput{Ciphertext: enc.Ciphertext, EncryptionContext: ec, Keyring: keyring(*key.Arn)})
	if err != nil {
		t.Fatalf("Decrypt: %v\nserver log:\n%s", err, srv.Stderr())
	}
	if !bytes.Equal(dec.Plaintext, plaintext) {
		t.Fatalf("Decrypt plaintext differs: got %d bytes, want %d", len(dec.Plaintext), len(plaintext))
	}
	if !maps.Equal(dec.EncryptionContext, enc.EncryptionContext) {
		t.Fatalf("Decrypt context = %v, want %v", dec.EncryptionContext, enc.EncryptionContext)
	}
	if dec.AlgorithmSuiteId != enc.AlgorithmSuiteId {
		t.Fatalf("Decrypt algorithm suite = %s, want %s", dec.AlgorithmSuiteId, enc.AlgorithmSuiteId)
	}

	// A keyring for another key finds no encrypted data key it may unwrap:
	// the message's only data key is wrapped under key. The keyring decides
	// this from the key ARN in the message, before it calls KMS.
	if _, err := sdk.Decrypt(ctx, esdktypes.DecryptInput{Ciphertext: enc.Ciphertext, Keyring: keyring(*other.Arn)}); err == nil {
		t.Fatal("Decrypt with a keyring for another key succeeded")
	} else if !strings.Contains(err.Error(), "No Encrypted Data Keys found to match") {
		t.Fatalf("Decrypt with a keyring for another key: %v", err)
	}

	// Once key is disabled, Trent's Decrypt refuses and the SDK reports it.
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.Decrypt(ctx, esdktypes.DecryptInput{Ciphertext: enc.Ciphertext, Keyring: keyring(*key.Arn)}); err == nil {
		t.Fatal("Decrypt under a disabled key succeeded")
	} else if !strings.Contains(err.Error(), "DisabledException") {
		t.Fatalf("Decrypt under a disabled key: %v, want a DisabledException", err)
	}

	// Decrypt checks that the caller's context is part of the message's.
	if _, err := sdk.Decrypt(ctx, esdktypes.DecryptInput{Ciphertext: enc.Ciphertext, EncryptionContext: map[string]string{"tenant": "other"}, Keyring: keyring(*key.Arn)}); err == nil {
		t.Fatal("Decrypt with a mismatched encryption context succeeded")
	}
}
