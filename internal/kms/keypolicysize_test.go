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
