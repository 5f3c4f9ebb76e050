package kms

import (
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
)

// Explain decides, for an operator, whether the subject may perform action on
// the key id names (with an encryption context, if any) and says why. c is
// the operator asking, who must be the root principal of the key's account.
// The caller is authorized before the key or the subject is resolved (the
// subject only then, by subject), so that a caller who may not explain
// learns from the one answer it gets neither which keys nor which principals
// exist.
func (s *Service) Explain(c Caller, subject func() (*authz.Identity, error), action, id string, ec map[string]string) (authz.KeyExplanation, error) {
	denied := wire.AccessDenied("Only the root principal of the key's account may explain its authorization.")
	caller := c.Identity
	if caller == nil || caller.Type != authz.RootType {
		return authz.KeyExplanation{}, denied
	}
	// Looked up in the account of the caller's identity, whatever account
	// the Caller names: another account's keys are not found whether they
	// exist or not.
	own := c
	own.Account = caller.Account
	k, _, err := s.lookup(own, id, keyOrAlias)
	if err != nil {
		return authz.KeyExplanation{}, err
	}
	if caller.Account != k.rec.Account {
		return authz.KeyExplanation{}, denied
	}
	who, err := subject()
	if err != nil {
		return authz.KeyExplanation{}, err
	}
	op := action
	if len(op) > 4 && op[:4] == "kms:" {
		op = op[4:]
	}
	a := access{op: op, action: action, ec: ec}
	list, more := s.conditionKeys(c, who, k, a)
	return authz.ExplainKey(&authz.KeyRequest{
		Identity: who, Action: action, Operation: op, KeyARN: k.arn, KeyAccount: k.rec.Account,
		RCPs: s.orgOf(k.rec.Account).RCPs(), KeyPolicy: k.policy, Grants: s.view.grantsOf(k), EncryptionContext: ec, List: list, More: more, Request: c.Request,
	}), nil
}
