package kms

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// An alias name is unique in its account and Region (alias-about.md), and
// names the key it points to in cryptographic operations until it is
// pointed elsewhere.
func TestAliasUniqueAndFollowed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.createKey(t), e.createKey(t)
	create := func(c Caller, name string, id *string) error {
		_, err := e.s.CreateAlias(ctx, c, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: id})
		return err
	}
	if err := create(e.caller, "alias/app", a.KeyId); err != nil {
		t.Fatal(err)
	}
	wantWireError(t, create(e.caller, "alias/app", b.KeyId), "AlreadyExistsException",
		"An alias with the name arn:aws:kms:us-east-1:111122223333:alias/app already exists")
	// The same name in another Region is another alias.
	eu := e.caller
	eu.Region = "eu-west-1"
	out, err := e.s.CreateKey(ctx, eu, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := create(eu, "alias/app", out.KeyMetadata.KeyId); err != nil {
		t.Fatalf("alias/app in eu-west-1: %v", err)
	}

	encryptsWith := func(want *kmsapi.KeyMetadata) {
		t.Helper()
		out, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: wire.Ptr("alias/app"), Plaintext: []byte("p")})
		if err != nil {
			t.Fatal(err)
		}
		if wire.String(out.KeyId) != *want.Arn {
			t.Fatalf("Encrypt with alias/app used %s, want %s", wire.String(out.KeyId), *want.Arn)
		}
	}
	encryptsWith(a)
	if _, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr("alias/app"), TargetKeyId: b.KeyId}); err != nil {
		t.Fatal(err)
	}
	encryptsWith(b)

	_, err = e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr("alias/none"), TargetKeyId: b.KeyId})
	wantWireError(t, err, "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.")
	_, err = e.s.DeleteAlias(ctx, e.caller, &kmsapi.DeleteAliasRequest{AliasName: wire.Ptr("alias/none")})
	wantWireError(t, err, "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.")

	// Deleting the alias leaves its key.
	if _, err := e.s.DeleteAlias(ctx, e.caller, &kmsapi.DeleteAliasRequest{AliasName: wire.Ptr("alias/app")}); err != nil {
		t.Fatal(err)
	}
	if st := wire.String(e.describe(t, b.KeyId).KeyState); st != "Enabled" {
		t.Fatalf("the key of a deleted alias is %s", st)
	}
	_, err = e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: wire.Ptr("alias/app"), Plaintext: []byte("p")})
	if code(err) != "NotFoundException" {
		t.Fatalf("Encrypt with a deleted alias: %v, want NotFoundException", err)
	}
}

// UpdateAlias moves an alias only between keys of the same type (both
// symmetric, both asymmetric or both HMAC) and the same key usage
// (UpdateAlias API reference; alias-manage.md): the key spec within a
// type may change.
func TestUpdateAliasAcrossKeyTypes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	type kind struct{ spec, usage string }
	tests := []struct {
		name     string
		from, to kind
		ok       bool
	}{
		{"symmetric to symmetric", kind{"SYMMETRIC_DEFAULT", ""}, kind{"SYMMETRIC_DEFAULT", ""}, true},
		{"RSA to a larger RSA", kind{"RSA_2048", "ENCRYPT_DECRYPT"}, kind{"RSA_3072", "ENCRYPT_DECRYPT"}, true},
		{"signing RSA to signing ECC", kind{"RSA_2048", "SIGN_VERIFY"}, kind{"ECC_NIST_P256", "SIGN_VERIFY"}, true},
		{"HMAC to a longer HMAC", kind{"HMAC_256", "GENERATE_VERIFY_MAC"}, kind{"HMAC_512", "GENERATE_VERIFY_MAC"}, true},
		{"symmetric to RSA, both ENCRYPT_DECRYPT", kind{"SYMMETRIC_DEFAULT", ""}, kind{"RSA_2048", "ENCRYPT_DECRYPT"}, false},
		{"RSA to symmetric", kind{"RSA_2048", "ENCRYPT_DECRYPT"}, kind{"SYMMETRIC_DEFAULT", ""}, false},
		{"symmetric to HMAC", kind{"SYMMETRIC_DEFAULT", ""}, kind{"HMAC_256", "GENERATE_VERIFY_MAC"}, false},
		{"RSA encryption to RSA signing", kind{"RSA_2048", "ENCRYPT_DECRYPT"}, kind{"RSA_2048", "SIGN_VERIFY"}, false},
		{"ECC signing to ECC key agreement", kind{"ECC_NIST_P256", "SIGN_VERIFY"}, kind{"ECC_NIST_P256", "KEY_AGREEMENT"}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := e.keyIn(t, tt.from.spec, tt.from.usage, "AWS_KMS", Enabled)
			to := e.keyIn(t, tt.to.spec, tt.to.usage, "AWS_KMS", Enabled)
			name := "alias/type-" + string(rune('a'+i))
			if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: from.KeyId}); err != nil {
				t.Fatal(err)
			}
			_, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: to.KeyId})
			if tt.ok {
				if err != nil {
					t.Fatalf("UpdateAlias: %v", err)
				}
				return
			}
			if code(err) != "ValidationException" {
				t.Fatalf("UpdateAlias: %v, want ValidationException", err)
			}
			l, err := e.s.ListAliases(ctx, e.caller, &kmsapi.ListAliasesRequest{KeyId: from.KeyId})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Aliases) != 1 || wire.String(l.Aliases[0].AliasName) != name {
				t.Fatalf("after a refused UpdateAlias the old key's aliases are %+v", l.Aliases)
			}
		})
	}
}

// An alias may leave a key pending deletion, but not move to one
// (key-state.md footnote 10).
func TestUpdateAliasFromAKeyPendingDeletion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doomed, next := e.createKey(t), e.createKey(t)
	if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/moving"), TargetKeyId: doomed.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: doomed.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr("alias/moving"), TargetKeyId: next.KeyId}); err != nil {
		t.Fatalf("UpdateAlias away from a key pending deletion: %v", err)
	}
	_, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr("alias/moving"), TargetKeyId: doomed.KeyId})
	wantWireError(t, err, "KMSInvalidStateException", *doomed.Arn+" is pending deletion.")
}
