package kms

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// lockoutMessage is AWS's MalformedPolicyDocumentException text when a new
// key policy would not let the caller change it again (KMS Developer Guide:
// default key policy, the policy lockout safety check).
const lockoutMessage = "The new key policy will not allow you to update the key policy in the future."

// PrincipalChecker tells whether an IAM principal named in a key policy
// exists; a key policy naming one that does not is refused, as AWS does.
type PrincipalChecker interface {
	PrincipalExists(principalARN string) bool
}

// checkKeyPolicy validates a key policy as KMS does and, unless the caller
// bypasses it, runs the lockout safety check: the caller must still be
// allowed kms:PutKeyPolicy under the new policy.
func (s *Service) checkKeyPolicy(c Caller, doc, keyARN, keyAccount string, bypass bool) error {
	if len(doc) > maxKeyPolicy {
		return kmsapi.NewLimitExceededException("Policy document exceeds the maximum size of 32768 bytes.")
	}
	p, err := policy.Compile([]byte(doc), policy.Options{Kind: policy.ResourceKind, MaxBytes: maxKeyPolicy, Charset: policy.Latin1Charset})
	if err != nil {
		var ve *policy.ValidationError
		msg := "The key policy is not valid."
		if errors.As(err, &ve) && len(ve.Findings) > 0 {
			msg = ve.Findings[0].Message
		}
		if errors.Is(err, policy.ErrLimit) {
			return wire.Validation(msg)
		}
		return kmsapi.NewMalformedPolicyDocumentException(msg)
	}
	if s.principals != nil {
		for _, pa := range awsPrincipals(doc) {
			if !s.principals.PrincipalExists(pa) {
				return kmsapi.NewMalformedPolicyDocumentException("Policy contains a statement with one or more invalid principals.")
			}
		}
	}
	if bypass {
		return nil
	}
	// The lockout safety check decides on the proposed policy, not the
	// key's: it is the one call of authz.DecideKey outside authorize, and it
	// authorizes nothing (the caller was authorized for the operation).
	id, err := c.who()
	if err != nil {
		return err
	}
	a := access{op: "PutKeyPolicy"}
	stub := &key{rec: keyRecord{Account: keyAccount, Spec: specSymmetric, Usage: usageEncrypt, Origin: originAWSKMS}, arn: keyARN}
	keys, more := s.conditionKeys(c, id, stub, a)
	d := authz.DecideKey(&authz.KeyRequest{
		Identity: id, Action: "kms:PutKeyPolicy", Operation: "PutKeyPolicy", KeyARN: keyARN, KeyAccount: keyAccount,
		KeyPolicy: p, Keys: keys, More: more, Request: c.Request,
	})
	if !d.Allowed() {
		return kmsapi.NewMalformedPolicyDocumentException(lockoutMessage)
	}
	return nil
}

// awsPrincipals lists the IAM user and role ARNs a policy names under
// Principal.AWS; account ids, root ARNs, "*" and session ARNs are not checked
// for existence.
func awsPrincipals(doc string) []string {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return nil
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(d.Statement, &one) != nil {
			return nil
		}
		stmts = []map[string]json.RawMessage{one}
	}
	var out []string
	for _, st := range stmts {
		var pr map[string]json.RawMessage
		if json.Unmarshal(st["Principal"], &pr) != nil {
			continue
		}
		var list []string
		if json.Unmarshal(pr["AWS"], &list) != nil {
			var one string
			if json.Unmarshal(pr["AWS"], &one) != nil {
				continue
			}
			list = []string{one}
		}
		for _, p := range list {
			a, err := arn.Parse(p)
			if err == nil && a.Service == "iam" && (strings.HasPrefix(a.Resource, "user/") || strings.HasPrefix(a.Resource, "role/")) {
				out = append(out, p)
			}
		}
	}
	return out
}
