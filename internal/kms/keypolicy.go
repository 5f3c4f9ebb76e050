package kms

import (
	"errors"
	"github.com/trentkms/trent/internal/keys"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// lockoutMessage is AWS's MalformedPolicyDocumentException text when a new
// key policy would not let the caller change it again (KMS Developer Guide:
// default key policy, the policy lockout safety check).
const lockoutMessage = "The new key policy will not allow you to update the key policy in the future."

// PrincipalResolver resolves the IAM principals that key policies and grants
// name when they are saved: PrincipalID returns the unique id of the IAM user
// or role an ARN names, with ok false when it names none (AWS refuses a key
// policy naming one), and an empty id for principals that are not bound
// (account roots, sessions, accounts outside this deployment). iam.Directory
// implements it.
type PrincipalResolver interface {
	PrincipalID(principalARN string) (id string, ok bool)
}

// bindKeyPolicy resolves the users and roles a key policy being saved names
// to their unique ids, which the key keeps beside the document: AWS binds
// them so that a user or role deleted and created again under the same name
// is not the principal the policy named, and shows the id once the entity is
// gone (IAM User Guide, reference_policies_elements_principal.md, "IAM role
// principals", "IAM user principals"). A policy naming a user or role that
// does not exist is refused, as AWS does. Without a resolver nothing can be
// bound: the principals bind to nothing and match no one.
func (s *Service) bindKeyPolicy(doc string) (map[string]string, error) {
	var out map[string]string
	for _, p := range policy.BindablePrincipals([]byte(doc)) {
		var id string
		if s.principals != nil {
			var ok bool
			if id, ok = s.principals.PrincipalID(p); !ok {
				return nil, kmsapi.NewMalformedPolicyDocumentException("Policy contains a statement with one or more invalid principals.")
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[p] = id
	}
	return out, nil
}

// compileKeyPolicy compiles a stored key policy with the bindings it was
// saved with.
func compileKeyPolicy(doc string, bindings map[string]string) (*policy.Policy, error) {
	return policy.Compile([]byte(doc), policy.Options{Kind: policy.ResourceKind, Bound: true, Bindings: bindings})
}

// unboundPolicy reports whether a stored document, naming the users and
// roles principals (policy.BindablePrincipals), names one its bindings do
// not cover: a record saved before key policies and grants were bound.
func unboundPolicy(principals []string, bindings map[string]string) bool {
	for _, p := range principals {
		if _, ok := bindings[p]; !ok {
			return true
		}
	}
	return false
}

// displayPolicy is a key policy as GetKeyPolicy shows it: as written, except
// that a user or role bound to an entity that no longer exists shows as the
// unique id it was bound to ("the principal ID appears in resource-based
// policies because AWS can no longer map it back to a valid ARN").
func (s *Service) displayPolicy(doc string, bindings map[string]string) string {
	if s.principals == nil || len(bindings) == 0 {
		return doc
	}
	gone := func(p, id string) bool {
		cur, _ := s.principals.PrincipalID(p)
		return id != "" && cur != id
	}
	any := false
	for p, id := range bindings {
		any = any || gone(p, id)
	}
	if !any {
		return doc
	}
	return string(policy.RewritePrincipals([]byte(doc), func(w string) (string, bool) {
		id := bindings[w]
		return id, gone(w, id)
	}))
}

// checkKeyPolicy validates a key policy as KMS does, binds its principals
// and, unless the caller bypasses it, runs the lockout safety check: the
// caller must still be allowed kms:PutKeyPolicy under the new policy. It
// returns the bindings to store with the policy.
func (s *Service) checkKeyPolicy(c Caller, doc, keyARN, keyAccount string, bypass bool) (map[string]string, error) {
	if len(doc) > maxKeyPolicy {
		return nil, kmsapi.NewLimitExceededException("Policy document exceeds the maximum size of 32768 bytes.")
	}
	if _, err := policy.Compile([]byte(doc), policy.Options{Kind: policy.ResourceKind, MaxBytes: maxKeyPolicy, Charset: policy.Latin1Charset, KnownKey: authz.KnownConditionKey}); err != nil {
		var ve *policy.ValidationError
		msg := "The key policy is not valid."
		if errors.As(err, &ve) && len(ve.Findings) > 0 {
			msg = ve.Findings[0].Message
		}
		if errors.Is(err, policy.ErrLimit) {
			return nil, wire.Validation(msg)
		}
		return nil, kmsapi.NewMalformedPolicyDocumentException(msg)
	}
	bindings, err := s.bindKeyPolicy(doc)
	if err != nil {
		return nil, err
	}
	if bypass {
		return bindings, nil
	}
	p, err := compileKeyPolicy(doc, bindings)
	if err != nil {
		return nil, kmsapi.NewMalformedPolicyDocumentException("The key policy is not valid.")
	}
	// The lockout safety check decides on the proposed policy, not the
	// key's: it is the one call of authz.DecideKey outside authorize, and it
	// authorizes nothing (the caller was authorized for the operation).
	id, err := c.who()
	if err != nil {
		return nil, err
	}
	// Later PutKeyPolicy requests carry kms:BypassPolicyLockoutSafetyCheck
	// too, false unless they bypass the check.
	a := access{op: "PutKeyPolicy", keys: []string{"kms:BypassPolicyLockoutSafetyCheck", "false"}}
	stub := &key{rec: keyRecord{Account: keyAccount, Spec: keys.SpecSymmetricDefault, Usage: keys.UsageEncryptDecrypt, Origin: originAWSKMS}, arn: keyARN}
	list, more := s.conditionKeys(c, id, stub, a)
	d := authz.DecideKey(&authz.KeyRequest{
		Identity: id, Action: "kms:PutKeyPolicy", Operation: "PutKeyPolicy", KeyARN: keyARN, KeyAccount: keyAccount,
		KeyPolicy: p, List: list, More: more, Request: c.Request,
	})
	if !d.Allowed() {
		return nil, kmsapi.NewMalformedPolicyDocumentException(lockoutMessage)
	}
	return bindings, nil
}
