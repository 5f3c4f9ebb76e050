package kms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// stateKey is a key brought to a state through the Service's own
// operations, with what the operations of the key-state table need of it
// made while it was still enabled.
type stateKey struct {
	md     *kmsapi.KeyMetadata
	blob   []byte // a ciphertext under it (encryption keys)
	mac    []byte // a MAC of "m" (HMAC keys)
	sig    []byte // a signature of "m" (signing keys)
	grant  string // a grant on it
	alias  string // an alias of it
	target string // an alias of another key of its type (UpdateAlias)
}

// keyKind is a type of key the key-state table distinguishes.
type keyKind struct{ spec, usage, origin string }

var (
	kindSymmetric = keyKind{"SYMMETRIC_DEFAULT", "", "AWS_KMS"}
	kindImported  = keyKind{"SYMMETRIC_DEFAULT", "", "EXTERNAL"}
	kindHMAC      = keyKind{"HMAC_256", "GENERATE_VERIFY_MAC", "AWS_KMS"}
	kindSigning   = keyKind{"ECC_NIST_P256", "SIGN_VERIFY", "AWS_KMS"}
)

// usedKey makes a key of kind, uses it while it is enabled (a ciphertext,
// MAC or signature, a grant, aliases), then brings it to state with
// DisableKey, ScheduleKeyDeletion or, for an imported key to PendingImport,
// DeleteImportedKeyMaterial: what the operations of the key-state table
// then meet is what the key really had.
func (e *env) usedKey(t *testing.T, kind keyKind, state State) *stateKey {
	t.Helper()
	ctx := context.Background()
	md := e.keyIn(t, kind.spec, kind.usage, kind.origin, Enabled)
	k := &stateKey{md: md}
	var err error
	switch kind.usage {
	case "":
		var out *kmsapi.EncryptResponse
		if out, err = e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: md.KeyId, Plaintext: []byte("p")}); err == nil {
			k.blob = out.CiphertextBlob
		}
	case "GENERATE_VERIFY_MAC":
		var out *kmsapi.GenerateMacResponse
		if out, err = e.s.GenerateMac(ctx, e.caller, &kmsapi.GenerateMacRequest{KeyId: md.KeyId, Message: []byte("m"), MacAlgorithm: wire.Ptr("HMAC_SHA_256")}); err == nil {
			k.mac = out.Mac
		}
	case "SIGN_VERIFY":
		var out *kmsapi.SignResponse
		if out, err = e.s.Sign(ctx, e.caller, &kmsapi.SignRequest{KeyId: md.KeyId, Message: []byte("m"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")}); err == nil {
			k.sig = out.Signature
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: md.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"DescribeKey"}})
	if err != nil {
		t.Fatal(err)
	}
	k.grant = *g.GrantId
	// An alias of another key of the same type, which UpdateAlias may
	// point at this one (it refuses a change of key type).
	other := e.keyIn(t, kind.spec, kind.usage, kind.origin, Enabled)
	k.target = fmt.Sprintf("alias/target-%s", (*md.KeyId)[:8])
	k.alias = fmt.Sprintf("alias/own-%s", (*md.KeyId)[:8])
	for name, id := range map[string]*string{k.target: other.KeyId, k.alias: md.KeyId} {
		if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: id}); err != nil {
			t.Fatal(err)
		}
	}
	switch state {
	case Disabled:
		_, err = e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: md.KeyId})
	case PendingDeletion:
		_, err = e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: md.KeyId})
	case PendingImport:
		_, err = e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: md.KeyId})
	}
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: md.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	if got := wire.String(d.KeyMetadata.KeyState); got != state.String() {
		t.Fatalf("key brought to %s is %s", state, got)
	}
	return k
}

// The errors of the key-state table's footnotes (KMS Developer Guide,
// key-state.md), ARN standing for the key's ARN; "" is success.
const (
	fnOK                 = ""
	fnDisabled           = "DisabledException: ARN is disabled."                                                          // [1]
	fnPendingDeletion    = "KMSInvalidStateException: ARN is pending deletion."                                           // [3]
	fnNotPendingDeletion = "KMSInvalidStateException: ARN is not pending deletion."                                       // [4]
	fnPendingImport      = "KMSInvalidStateException: ARN is pending import."                                             // [5]
	fnOriginExternal     = "UnsupportedOperationException: ARN origin is EXTERNAL which is not valid for this operation." // [6], [7]
	fnOriginAWSKMS       = "UnsupportedOperationException: ARN origin is AWS_KMS which is not valid for this operation."  // [9]
)

// TestKeyStateTable drives every operation of the key-state table on keys
// of each type in each state and requires the table's result, with the
// message of its footnote. The table is copied from the Developer Guide,
// not from checks.go, so a wrong entry in needs fails here.
func TestKeyStateTable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	type call func(k *stateKey) error
	type row struct {
		op   string
		kind keyKind
		// changes: the operation changes the key (its state, material or
		// grants), so every cell gets a key of its own.
		changes bool
		call    call
		// enabled, disabled, pendingDeletion, pendingImport: the cells of
		// the table; pendingImport is checked on imported keys only.
		enabled, disabled, pendingDeletion, pendingImport string
	}
	encrypt := func(k *stateKey) error {
		_, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: k.md.KeyId, Plaintext: []byte("p")})
		return err
	}
	const na = "n/a"
	crypto := func(op string, kind keyKind, f call) row {
		pi := fnPendingImport
		if kind != kindSymmetric {
			pi = na
		}
		return row{op: op, kind: kind, call: f, enabled: fnOK, disabled: fnDisabled, pendingDeletion: fnPendingDeletion, pendingImport: pi}
	}
	rows := []row{
		{op: "CancelKeyDeletion", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.CancelKeyDeletion(ctx, e.caller, &kmsapi.CancelKeyDeletionRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnNotPendingDeletion, disabled: fnNotPendingDeletion, pendingDeletion: fnOK, pendingImport: fnNotPendingDeletion},
		{op: "CreateAlias", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/new-" + (*k.md.KeyId)[:8]), TargetKeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		{op: "CreateGrant", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.md.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"Decrypt"}})
			return err
		}, enabled: fnOK, disabled: fnDisabled, pendingDeletion: fnPendingDeletion, pendingImport: fnPendingImport},
		crypto("Decrypt", kindSymmetric, func(k *stateKey) error {
			_, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: k.blob})
			return err
		}),
		{op: "DeleteAlias", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.DeleteAlias(ctx, e.caller, &kmsapi.DeleteAliasRequest{AliasName: wire.Ptr(k.alias)})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "DeleteImportedKeyMaterial", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOriginAWSKMS, disabled: fnOriginAWSKMS, pendingDeletion: fnOriginAWSKMS, pendingImport: na},
		{op: "DeleteImportedKeyMaterial", kind: kindImported, changes: true, call: func(k *stateKey) error {
			_, err := e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "DescribeKey", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "DisableKey", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnPendingImport},
		{op: "DisableKeyRotation", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.DisableKeyRotation(ctx, e.caller, &kmsapi.DisableKeyRotationRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnDisabled, pendingDeletion: fnPendingDeletion, pendingImport: fnOriginExternal},
		{op: "DisableKeyRotation", kind: kindImported, call: func(k *stateKey) error {
			_, err := e.s.DisableKeyRotation(ctx, e.caller, &kmsapi.DisableKeyRotationRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOriginExternal, disabled: fnOriginExternal, pendingDeletion: fnOriginExternal, pendingImport: fnOriginExternal},
		{op: "EnableKey", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.EnableKey(ctx, e.caller, &kmsapi.EnableKeyRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnPendingImport},
		{op: "EnableKeyRotation", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnDisabled, pendingDeletion: fnPendingDeletion, pendingImport: fnOriginExternal},
		{op: "EnableKeyRotation", kind: kindImported, call: func(k *stateKey) error {
			_, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOriginExternal, disabled: fnOriginExternal, pendingDeletion: fnOriginExternal, pendingImport: fnOriginExternal},
		crypto("Encrypt", kindSymmetric, encrypt),
		crypto("GenerateDataKey", kindSymmetric, func(k *stateKey) error {
			_, err := e.s.GenerateDataKey(ctx, e.caller, &kmsapi.GenerateDataKeyRequest{KeyId: k.md.KeyId, NumberOfBytes: wire.Ptr(int32(32))})
			return err
		}),
		crypto("GenerateDataKeyPair", kindSymmetric, func(k *stateKey) error {
			_, err := e.s.GenerateDataKeyPair(ctx, e.caller, &kmsapi.GenerateDataKeyPairRequest{KeyId: k.md.KeyId, KeyPairSpec: wire.Ptr("ECC_NIST_P256")})
			return err
		}),
		crypto("GenerateDataKeyPairWithoutPlaintext", kindSymmetric, func(k *stateKey) error {
			_, err := e.s.GenerateDataKeyPairWithoutPlaintext(ctx, e.caller, &kmsapi.GenerateDataKeyPairWithoutPlaintextRequest{KeyId: k.md.KeyId, KeyPairSpec: wire.Ptr("ECC_NIST_P256")})
			return err
		}),
		crypto("GenerateDataKeyWithoutPlaintext", kindSymmetric, func(k *stateKey) error {
			_, err := e.s.GenerateDataKeyWithoutPlaintext(ctx, e.caller, &kmsapi.GenerateDataKeyWithoutPlaintextRequest{KeyId: k.md.KeyId, KeySpec: wire.Ptr("AES_256")})
			return err
		}),
		crypto("GenerateMac", kindHMAC, func(k *stateKey) error {
			_, err := e.s.GenerateMac(ctx, e.caller, &kmsapi.GenerateMacRequest{KeyId: k.md.KeyId, Message: []byte("m"), MacAlgorithm: wire.Ptr("HMAC_SHA_256")})
			return err
		}),
		{op: "GetKeyPolicy", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.GetKeyPolicy(ctx, e.caller, &kmsapi.GetKeyPolicyRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "GetKeyRotationStatus", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.GetKeyRotationStatus(ctx, e.caller, &kmsapi.GetKeyRotationStatusRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: na},
		{op: "GetKeyRotationStatus", kind: kindImported, call: func(k *stateKey) error {
			_, err := e.s.GetKeyRotationStatus(ctx, e.caller, &kmsapi.GetKeyRotationStatusRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOriginExternal, disabled: fnOriginExternal, pendingDeletion: fnOriginExternal, pendingImport: fnOriginExternal},
		{op: "GetParametersForImport", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: k.md.KeyId, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
			return err
		}, enabled: fnOriginAWSKMS, disabled: fnOriginAWSKMS, pendingDeletion: fnOriginAWSKMS, pendingImport: na},
		{op: "GetParametersForImport", kind: kindImported, call: func(k *stateKey) error {
			_, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: k.md.KeyId, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		{op: "GetPublicKey", kind: kindSigning, call: func(k *stateKey) error {
			_, err := e.s.GetPublicKey(ctx, e.caller, &kmsapi.GetPublicKeyRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnDisabled, pendingDeletion: fnPendingDeletion, pendingImport: na},
		{op: "ListGrants", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.ListGrants(ctx, e.caller, &kmsapi.ListGrantsRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "ListKeyPolicies", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.ListKeyPolicies(ctx, e.caller, &kmsapi.ListKeyPoliciesRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "ListResourceTags", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.ListResourceTags(ctx, e.caller, &kmsapi.ListResourceTagsRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "PutKeyPolicy", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: k.md.KeyId, Policy: wire.Ptr(DefaultPolicy("111122223333"))})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		crypto("ReEncrypt", kindSymmetric, func(k *stateKey) error {
			_, err := e.s.ReEncrypt(ctx, e.caller, &kmsapi.ReEncryptRequest{CiphertextBlob: k.blob, DestinationKeyId: k.md.KeyId})
			return err
		}),
		{op: "RetireGrant", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.RetireGrant(ctx, e.caller, &kmsapi.RetireGrantRequest{KeyId: k.md.Arn, GrantId: wire.Ptr(k.grant)})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "RevokeGrant", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.RevokeGrant(ctx, e.caller, &kmsapi.RevokeGrantRequest{KeyId: k.md.KeyId, GrantId: wire.Ptr(k.grant)})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnOK, pendingImport: fnOK},
		{op: "ScheduleKeyDeletion", kind: kindSymmetric, changes: true, call: func(k *stateKey) error {
			_, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		crypto("Sign", kindSigning, func(k *stateKey) error {
			_, err := e.s.Sign(ctx, e.caller, &kmsapi.SignRequest{KeyId: k.md.KeyId, Message: []byte("m"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
			return err
		}),
		{op: "TagResource", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.TagResource(ctx, e.caller, &kmsapi.TagResourceRequest{KeyId: k.md.KeyId, Tags: []kmsapi.Tag{{TagKey: wire.Ptr("team"), TagValue: wire.Ptr("a")}}})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		{op: "UntagResource", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.UntagResource(ctx, e.caller, &kmsapi.UntagResourceRequest{KeyId: k.md.KeyId, TagKeys: []string{"team"}})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		// Footnote 10: the key an alias moves to must not be pending
		// deletion (the key it leaves may be: TestUpdateAliasFromAKeyPendingDeletion).
		{op: "UpdateAlias", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr(k.target), TargetKeyId: k.md.KeyId})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		{op: "UpdateKeyDescription", kind: kindSymmetric, call: func(k *stateKey) error {
			_, err := e.s.UpdateKeyDescription(ctx, e.caller, &kmsapi.UpdateKeyDescriptionRequest{KeyId: k.md.KeyId, Description: wire.Ptr("d")})
			return err
		}, enabled: fnOK, disabled: fnOK, pendingDeletion: fnPendingDeletion, pendingImport: fnOK},
		crypto("Verify", kindSigning, func(k *stateKey) error {
			_, err := e.s.Verify(ctx, e.caller, &kmsapi.VerifyRequest{KeyId: k.md.KeyId, Message: []byte("m"), Signature: k.sig, SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
			return err
		}),
		crypto("VerifyMac", kindHMAC, func(k *stateKey) error {
			_, err := e.s.VerifyMac(ctx, e.caller, &kmsapi.VerifyMacRequest{KeyId: k.md.KeyId, Message: []byte("m"), Mac: k.mac, MacAlgorithm: wire.Ptr("HMAC_SHA_256")})
			return err
		}),
	}
	// Keys that no operation changes are shared between rows.
	shared := map[keyKind]map[State]*stateKey{}
	keyFor := func(t *testing.T, kind keyKind, st State, fresh bool) *stateKey {
		if fresh {
			return e.usedKey(t, kind, st)
		}
		if shared[kind] == nil {
			shared[kind] = map[State]*stateKey{}
		}
		if shared[kind][st] == nil {
			shared[kind][st] = e.usedKey(t, kind, st)
		}
		return shared[kind][st]
	}
	for _, r := range rows {
		cells := []struct {
			state State
			want  string
		}{{Enabled, r.enabled}, {Disabled, r.disabled}, {PendingDeletion, r.pendingDeletion}, {PendingImport, r.pendingImport}}
		for _, c := range cells {
			kind := r.kind
			if c.state == PendingImport {
				if kind != kindSymmetric && kind != kindImported {
					continue
				}
				// Only keys with imported material are ever pending import.
				kind = kindImported
			}
			if c.want == na {
				continue
			}
			origin := map[string]string{"AWS_KMS": "", "EXTERNAL": "/imported"}[kind.origin]
			t.Run(fmt.Sprintf("%s/%s%s/%s", r.op, kind.spec, origin, c.state), func(t *testing.T) {
				k := keyFor(t, kind, c.state, r.changes)
				got := ""
				if err := r.call(k); err != nil {
					var we *wire.Error
					if !errors.As(err, &we) {
						t.Fatalf("%s: %v, not an error a client sees", r.op, err)
					}
					got = we.Code + ": " + we.Message
				}
				if want := strings.Replace(c.want, "ARN", *k.md.Arn, 1); got != want {
					t.Errorf("%s on a %s key:\n got %q\nwant %q", r.op, c.state, got, want)
				}
			})
		}
	}
}
