package kms

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// A grant allows only operations its key supports (grants.md, "Grant
// operations": no Sign, Verify, GenerateMac or VerifyMac on a symmetric
// encryption key, nothing that makes data keys on an asymmetric one), and
// encryption context constraints only on symmetric encryption keys
// (create-grant-overview.md, "Grant constraints").
func TestGrantOperationsByKeyType(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	grant := func(id *string, ops []string, cons *kmsapi.GrantConstraints) error {
		_, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: id, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: ops, Constraints: cons})
		return err
	}
	subset := &kmsapi.GrantConstraints{EncryptionContextSubset: map[string]string{"app": "a"}}
	source := &kmsapi.GrantConstraints{SourceArn: wire.Ptr("arn:aws:s3:::bucket")}
	tests := []struct {
		kind    keyKind
		allowed []string
		refused []string
	}{
		{kindSymmetric,
			[]string{"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "DescribeKey", "CreateGrant", "RetireGrant"},
			[]string{"Sign", "Verify", "GenerateMac", "VerifyMac", "GetPublicKey", "DeriveSharedSecret"}},
		{keyKind{"RSA_2048", "ENCRYPT_DECRYPT", "AWS_KMS"},
			[]string{"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey", "DescribeKey"},
			[]string{"GenerateDataKey", "GenerateDataKeyPair", "GenerateDataKeyWithoutPlaintext", "Sign", "GenerateMac"}},
		{kindSigning,
			[]string{"Sign", "Verify", "GetPublicKey", "DescribeKey", "CreateGrant"},
			[]string{"Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac"}},
		{kindHMAC,
			[]string{"GenerateMac", "VerifyMac", "DescribeKey", "RetireGrant"},
			[]string{"Encrypt", "Sign", "GetPublicKey", "GenerateDataKey"}},
		{keyKind{"ECC_NIST_P256", "KEY_AGREEMENT", "AWS_KMS"},
			[]string{"DeriveSharedSecret", "GetPublicKey", "DescribeKey"},
			[]string{"Encrypt", "Sign", "GenerateDataKeyPair"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.spec+"/"+tt.kind.usage, func(t *testing.T) {
			md := e.keyIn(t, tt.kind.spec, tt.kind.usage, tt.kind.origin, Enabled)
			if err := grant(md.KeyId, tt.allowed, nil); err != nil {
				t.Fatalf("a grant of %v: %v", tt.allowed, err)
			}
			usage := tt.kind.usage
			if usage == "" {
				usage = "ENCRYPT_DECRYPT"
			}
			for _, op := range tt.refused {
				wantWireError(t, grant(md.KeyId, []string{"DescribeKey", op}, nil), "ValidationException",
					"Grant operations "+op+" are not valid for a key with KeyUsage "+usage+" and KeySpec "+tt.kind.spec+".")
			}
			// A SourceArn constraint goes with every key type; an encryption
			// context constraint with symmetric encryption keys only.
			if err := grant(md.KeyId, []string{"DescribeKey"}, source); err != nil {
				t.Fatalf("a grant with a SourceArn constraint: %v", err)
			}
			err := grant(md.KeyId, []string{"DescribeKey"}, subset)
			if tt.kind == kindSymmetric {
				if err != nil {
					t.Fatalf("a grant with an encryption context constraint: %v", err)
				}
				return
			}
			wantWireError(t, err, "ValidationException", "Grant constraints are not supported for asymmetric or HMAC KMS keys.")
		})
	}
}

// A CreateGrant retried with the same Name and parameters returns the
// grant it made (CreateGrant API reference, Name); a change of any
// parameter makes another grant.
func TestCreateGrantNameIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	in := func(ops ...string) *kmsapi.CreateGrantRequest {
		return &kmsapi.CreateGrantRequest{KeyId: md.KeyId, Name: wire.Ptr("retried"), GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: ops}
	}
	first, err := e.s.CreateGrant(ctx, e.caller, in("Encrypt", "Decrypt"))
	if err != nil {
		t.Fatal(err)
	}
	// The same operations in another order and repeated are the same.
	again, err := e.s.CreateGrant(ctx, e.caller, in("Decrypt", "Encrypt", "Decrypt"))
	if err != nil {
		t.Fatal(err)
	}
	if *again.GrantId != *first.GrantId {
		t.Fatalf("a retried CreateGrant made grant %s, want %s", *again.GrantId, *first.GrantId)
	}
	other, err := e.s.CreateGrant(ctx, e.caller, in("Encrypt"))
	if err != nil {
		t.Fatal(err)
	}
	if *other.GrantId == *first.GrantId {
		t.Fatal("CreateGrant with the same Name and other operations returned the first grant")
	}
	l, err := e.s.ListGrants(ctx, e.caller, &kmsapi.ListGrantsRequest{KeyId: md.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Grants) != 2 {
		t.Fatalf("%d grants on the key, want 2", len(l.Grants))
	}
}
