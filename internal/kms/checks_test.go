package kms

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Every entry of needs is an operation of the API.
func TestNeedsNameOperations(t *testing.T) {
	for op := range needs {
		if _, ok := kmsapi.Operations[op]; !ok {
			t.Errorf("needs[%q] is not an operation of the API model", op)
		}
	}
}

// keyIn makes a key of the given spec, usage and origin and brings it to
// state: Enabled, Disabled, PendingDeletion, or PendingImport (an EXTERNAL
// key before its import). An EXTERNAL key in another state gets material.
func (e *env) keyIn(t *testing.T, spec, usage, origin string, state State) *kmsapi.KeyMetadata {
	t.Helper()
	ctx := context.Background()
	in := &kmsapi.CreateKeyRequest{KeySpec: wire.Ptr(spec), Origin: wire.Ptr(origin)}
	if usage != "" {
		in.KeyUsage = wire.Ptr(usage)
	}
	out, err := e.s.CreateKey(ctx, e.caller, in)
	if err != nil {
		t.Fatal(err)
	}
	id := out.KeyMetadata.KeyId
	if origin == "EXTERNAL" && state != PendingImport {
		e.importMaterial(t, id, nil, nil)
	}
	switch state {
	case Disabled:
		_, err = e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: id})
	case PendingDeletion:
		_, err = e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id, PendingWindowInDays: wire.Ptr(int32(7))})
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

// importMaterial imports 32 random bytes (or raw, if set) into an EXTERNAL
// symmetric key, with more of the request set by edit, and returns the
// material.
func (e *env) importMaterial(t *testing.T, id *string, raw []byte, edit func(*kmsapi.ImportKeyMaterialRequest)) []byte {
	t.Helper()
	ctx := context.Background()
	if raw == nil {
		raw = make([]byte, 32)
		rand.Read(raw)
	}
	p, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: id, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
	if err != nil {
		t.Fatal(err)
	}
	w, err := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA256, raw)
	if err != nil {
		t.Fatal(err)
	}
	in := &kmsapi.ImportKeyMaterialRequest{KeyId: id, ImportToken: p.ImportToken, EncryptedKeyMaterial: w, ExpirationModel: wire.Ptr(doesNotExpire)}
	if edit != nil {
		edit(in)
	}
	if _, err := e.s.ImportKeyMaterial(ctx, e.caller, in); err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestErrorPrecedence checks that a request with several faults gets the
// error of the first in AWS's order (checks.go): validation, key
// resolution, authorization, origin, state, type, DryRun.
func TestErrorPrecedence(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const missing = "1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name                 string
		spec, usage, origin  string
		state                State
		call                 func(id *string) error
		wantCode, wantPrefix string // wantPrefix: "" for an empty message; ARN: the key's ARN
	}{
		{name: "RotateKeyOnDemand: a disabled RSA key is disabled before it is unsupported (AWS recorded)",
			spec: "RSA_4096", usage: "ENCRYPT_DECRYPT", origin: "AWS_KMS", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: id})
				return err
			}, wantCode: "DisabledException", wantPrefix: "ARN is disabled."},
		{name: "RotateKeyOnDemand: an enabled RSA key is unsupported, without a message (AWS recorded)",
			spec: "RSA_4096", usage: "ENCRYPT_DECRYPT", origin: "AWS_KMS", state: Enabled,
			call: func(id *string) error {
				_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: id})
				return err
			}, wantCode: "UnsupportedOperationException"},
		{name: "RotateKeyOnDemand: an EXTERNAL key without material is pending import (AWS recorded)",
			spec: "SYMMETRIC_DEFAULT", origin: "EXTERNAL", state: PendingImport,
			call: func(id *string) error {
				_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: id})
				return err
			}, wantCode: "KMSInvalidStateException", wantPrefix: "ARN is pending import."},
		{name: "Encrypt: state before usage",
			spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", origin: "AWS_KMS", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("x")})
				return err
			}, wantCode: "DisabledException", wantPrefix: "ARN is disabled."},
		{name: "Sign: pending deletion before usage",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: PendingDeletion,
			call: func(id *string) error {
				_, err := e.s.Sign(ctx, e.caller, &kmsapi.SignRequest{KeyId: id, Message: []byte("m"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
				return err
			}, wantCode: "KMSInvalidStateException", wantPrefix: "ARN is pending deletion."},
		{name: "Sign: usage on an enabled key",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: Enabled,
			call: func(id *string) error {
				_, err := e.s.Sign(ctx, e.caller, &kmsapi.SignRequest{KeyId: id, Message: []byte("m"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
				return err
			}, wantCode: "InvalidKeyUsageException", wantPrefix: "ARN key usage is ENCRYPT_DECRYPT which is not valid for Sign."},
		{name: "GetPublicKey: a disabled symmetric key is disabled",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.GetPublicKey(ctx, e.caller, &kmsapi.GetPublicKeyRequest{KeyId: id})
				return err
			}, wantCode: "DisabledException", wantPrefix: "ARN is disabled."},
		{name: "GenerateDataKey: a disabled RSA key is disabled before its spec",
			spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", origin: "AWS_KMS", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.GenerateDataKey(ctx, e.caller, &kmsapi.GenerateDataKeyRequest{KeyId: id, NumberOfBytes: wire.Ptr(int32(16))})
				return err
			}, wantCode: "DisabledException", wantPrefix: "ARN is disabled."},
		{name: "EnableKeyRotation: origin before state (footnote 7)",
			spec: "SYMMETRIC_DEFAULT", origin: "EXTERNAL", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: id})
				return err
			}, wantCode: "UnsupportedOperationException", wantPrefix: "ARN origin is EXTERNAL which is not valid for this operation."},
		{name: "EnableKeyRotation: an EXTERNAL key pending import is unsupported (footnote 6)",
			spec: "SYMMETRIC_DEFAULT", origin: "EXTERNAL", state: PendingImport,
			call: func(id *string) error {
				_, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: id})
				return err
			}, wantCode: "UnsupportedOperationException", wantPrefix: "ARN origin is EXTERNAL which is not valid for this operation."},
		{name: "DisableKeyRotation: a disabled HMAC key is disabled",
			spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC", origin: "AWS_KMS", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.DisableKeyRotation(ctx, e.caller, &kmsapi.DisableKeyRotationRequest{KeyId: id})
				return err
			}, wantCode: "DisabledException", wantPrefix: "ARN is disabled."},
		{name: "GetParametersForImport: origin before pending deletion (footnote 9 before 8)",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: PendingDeletion,
			call: func(id *string) error {
				_, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: id, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
				return err
			}, wantCode: "UnsupportedOperationException", wantPrefix: "ARN origin is AWS_KMS which is not valid for this operation."},
		{name: "GetParametersForImport: an EXTERNAL key pending deletion (footnote 8)",
			spec: "SYMMETRIC_DEFAULT", origin: "EXTERNAL", state: PendingDeletion,
			call: func(id *string) error {
				_, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: id, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
				return err
			}, wantCode: "KMSInvalidStateException", wantPrefix: "ARN is pending deletion."},
		{name: "GetParametersForImport: validation before the key",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: Enabled,
			call: func(id *string) error {
				_, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: id, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("ECC_NIST_P256")})
				return err
			}, wantCode: "ValidationException", wantPrefix: "Wrapping algorithm RSAES_OAEP_SHA_256 is not supported"},
		{name: "ImportKeyMaterial: validation before the key",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: PendingDeletion,
			call: func(id *string) error {
				_, err := e.s.ImportKeyMaterial(ctx, e.caller, &kmsapi.ImportKeyMaterialRequest{KeyId: id, ImportToken: []byte("t"), EncryptedKeyMaterial: []byte("m")})
				return err
			}, wantCode: "ValidationException", wantPrefix: "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"},
		{name: "CancelKeyDeletion: an enabled key is not pending deletion",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: Enabled,
			call: func(id *string) error {
				_, err := e.s.CancelKeyDeletion(ctx, e.caller, &kmsapi.CancelKeyDeletionRequest{KeyId: id})
				return err
			}, wantCode: "KMSInvalidStateException", wantPrefix: "ARN is not pending deletion."},
		{name: "EnableKey: an EXTERNAL key pending import",
			spec: "SYMMETRIC_DEFAULT", origin: "EXTERNAL", state: PendingImport,
			call: func(id *string) error {
				_, err := e.s.EnableKey(ctx, e.caller, &kmsapi.EnableKeyRequest{KeyId: id})
				return err
			}, wantCode: "KMSInvalidStateException", wantPrefix: "ARN is pending import."},
		{name: "ReplicateKey: state before the multi-Region check",
			spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS", state: Disabled,
			call: func(id *string) error {
				_, err := e.s.ReplicateKey(ctx, e.caller, &kmsapi.ReplicateKeyRequest{KeyId: id, ReplicaRegion: wire.Ptr("eu-west-1")})
				return err
			}, wantCode: "DisabledException", wantPrefix: "ARN is disabled."},
		{name: "ScheduleKeyDeletion: validation before resolution",
			call: func(*string) error {
				_, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: wire.Ptr(missing), PendingWindowInDays: wire.Ptr(int32(3))})
				return err
			}, wantCode: "ValidationException", wantPrefix: "1 validation error detected: Value '3' at 'pendingWindowInDays'"},
		{name: "RotateKeyOnDemand: resolution first",
			call: func(*string) error {
				_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: wire.Ptr(missing)})
				return err
			}, wantCode: "NotFoundException", wantPrefix: "Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id *string
			arn := ""
			if tt.spec != "" {
				md := e.keyIn(t, tt.spec, tt.usage, tt.origin, tt.state)
				id, arn = md.KeyId, *md.Arn
			}
			err := tt.call(id)
			var we *wire.Error
			if !errors.As(err, &we) {
				t.Fatalf("got %v, want %s", err, tt.wantCode)
			}
			want := strings.Replace(tt.wantPrefix, "ARN", arn, 1)
			if we.Code != tt.wantCode || !strings.HasPrefix(we.Message, want) || (want == "" && we.Message != "") {
				t.Fatalf("got %s %q, want %s %q", we.Code, we.Message, tt.wantCode, want)
			}
		})
	}
}

// Authorization comes before the key's state: a caller the key policy
// denies learns nothing about a disabled key.
func TestAuthorizationBeforeState(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.keyIn(t, "SYMMETRIC_DEFAULT", "", "AWS_KMS", Enabled)
	deny := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"no-encrypt","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Encrypt","Resource":"*"}]}`
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: md.KeyId, Policy: wire.Ptr(deny)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: md.KeyId, Plaintext: []byte("x")})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt denied on a disabled key: %v, want AccessDeniedException", err)
	}
}
