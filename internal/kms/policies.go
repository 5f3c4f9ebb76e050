package kms

import (
	"context"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// A KMS key has exactly one policy, named "default".
func checkPolicyName(p *string) error {
	if p != nil && *p != defaultPolicy {
		return kmsapi.NewNotFoundException("No such policy exists")
	}
	return nil
}

// GetKeyPolicy returns the key policy as it was stored.
func (s *Service) GetKeyPolicy(ctx context.Context, c Caller, in *kmsapi.GetKeyPolicyRequest) (*kmsapi.GetKeyPolicyResponse, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly, access{op: "GetKeyPolicy"})
	if err != nil {
		return nil, err
	}
	if err := checkPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	return &kmsapi.GetKeyPolicyResponse{Policy: wire.Ptr(s.displayPolicy(k.rec.Policy, k.rec.PolicyBindings)), PolicyName: wire.Ptr(defaultPolicy)}, nil
}

// PutKeyPolicy replaces the key policy.
func (s *Service) PutKeyPolicy(ctx context.Context, c Caller, in *kmsapi.PutKeyPolicyRequest) (Empty, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly, access{op: "PutKeyPolicy",
		keys: []string{"kms:BypassPolicyLockoutSafetyCheck", boolString(wire.Bool(in.BypassPolicyLockoutSafetyCheck))}})
	if err != nil {
		return nil, err
	}
	if err := checkPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	bypass := wire.Bool(in.BypassPolicyLockoutSafetyCheck)
	bindings, err := s.checkKeyPolicy(c, *in.Policy, k.arn, k.rec.Account, bypass)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		r.Policy, r.PolicyBindings = *in.Policy, bindings
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListKeyPolicies lists the key's policy names: always "default".
func (s *Service) ListKeyPolicies(ctx context.Context, c Caller, in *kmsapi.ListKeyPoliciesRequest) (*kmsapi.ListKeyPoliciesResponse, error) {
	if _, err := s.keyFor(c, *in.KeyId, keyOnly, access{op: "ListKeyPolicies"}); err != nil {
		return nil, err
	}
	return &kmsapi.ListKeyPoliciesResponse{PolicyNames: []string{defaultPolicy}, Truncated: wire.Ptr(false)}, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
