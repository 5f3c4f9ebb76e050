package kms

import (
	"context"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// A key policy is at most 32 KiB (resource-limits.md, "key policy
// document size"), for CreateKey and PutKeyPolicy alike; one byte more is
// AWS's LimitExceededException, and the key keeps its policy.
func TestKeyPolicySizeLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Padded with white space, which counts, to the size wanted.
	sized := func(n int) string {
		doc := DefaultPolicy("111122223333")
		return doc[:len(doc)-1] + strings.Repeat(" ", n-len(doc)) + "}"
	}
	const tooLarge = "Policy document exceeds the maximum size of 32768 bytes."
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(sized(32768))})
	if err != nil {
		t.Fatalf("CreateKey with a policy of 32768 bytes: %v", err)
	}
	_, err = e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(sized(32769))})
	wantLimit(t, err, tooLarge)

	id := out.KeyMetadata.KeyId
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: id, Policy: wire.Ptr(DefaultPolicy("111122223333"))}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: id, Policy: wire.Ptr(sized(32769))})
	wantLimit(t, err, tooLarge)
	got, err := e.s.GetKeyPolicy(ctx, e.caller, &kmsapi.GetKeyPolicyRequest{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	if wire.String(got.Policy) != DefaultPolicy("111122223333") {
		t.Fatalf("policy after a refused PutKeyPolicy: %d bytes, want the default policy", len(wire.String(got.Policy)))
	}
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: id, Policy: wire.Ptr(sized(32768))}); err != nil {
		t.Fatalf("PutKeyPolicy of 32768 bytes: %v", err)
	}
}

// The lockout safety check (PutKeyPolicy and CreateKey API references,
// BypassPolicyLockoutSafetyCheck): a policy that would not let the caller
// put the key policy again is refused with AWS's text and changes nothing,
// unless the request bypasses the check.
func TestKeyPolicyLockoutSafetyCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Lets the account's root use the key, but not manage its policy.
	lockout := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey","kms:GetKeyPolicy"],"Resource":"*"}]}`
	const refused = "The new key policy will not allow you to update the key policy in the future."
	before, err := e.s.ListKeys(ctx, e.caller, &kmsapi.ListKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(lockout)})
	wantWireError(t, err, "MalformedPolicyDocumentException", refused)
	if after, _ := e.s.ListKeys(ctx, e.caller, &kmsapi.ListKeysRequest{}); len(after.Keys) != len(before.Keys) {
		t.Fatal("a CreateKey refused by the lockout check made a key")
	}

	md := e.createKey(t)
	_, err = e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: md.KeyId, Policy: wire.Ptr(lockout)})
	wantWireError(t, err, "MalformedPolicyDocumentException", refused)
	if got, _ := e.s.GetKeyPolicy(ctx, e.caller, &kmsapi.GetKeyPolicyRequest{KeyId: md.KeyId}); wire.String(got.Policy) != DefaultPolicy("111122223333") {
		t.Fatalf("policy after a refused PutKeyPolicy: %s", wire.String(got.Policy))
	}
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: md.KeyId, Policy: wire.Ptr(lockout), BypassPolicyLockoutSafetyCheck: wire.Ptr(true)}); err != nil {
		t.Fatalf("PutKeyPolicy bypassing the check: %v", err)
	}
	// Now it is locked out, as it asked.
	_, err = e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: md.KeyId, Policy: wire.Ptr(DefaultPolicy("111122223333"))})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("PutKeyPolicy under a policy without kms:PutKeyPolicy: %v, want AccessDeniedException", err)
	}
}

// A key has one policy, named default (GetKeyPolicy, PutKeyPolicy,
// ListKeyPolicies API references); another name is not found.
func TestKeyPolicyName(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	l, err := e.s.ListKeyPolicies(ctx, e.caller, &kmsapi.ListKeyPoliciesRequest{KeyId: md.KeyId})
	if err != nil || len(l.PolicyNames) != 1 || l.PolicyNames[0] != "default" || wire.Bool(l.Truncated) {
		t.Fatalf("ListKeyPolicies: %+v, %v; want only default", l, err)
	}
	if _, err := e.s.GetKeyPolicy(ctx, e.caller, &kmsapi.GetKeyPolicyRequest{KeyId: md.KeyId, PolicyName: wire.Ptr("default")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetKeyPolicy(ctx, e.caller, &kmsapi.GetKeyPolicyRequest{KeyId: md.KeyId, PolicyName: wire.Ptr("other")})
	wantWireError(t, err, "NotFoundException", "No such policy exists")
	_, err = e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: md.KeyId, PolicyName: wire.Ptr("other"), Policy: wire.Ptr(DefaultPolicy("111122223333"))})
	wantWireError(t, err, "NotFoundException", "No such policy exists")
}
