package kms

import (
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
)

// Explain decides, for an operator, whether subject may perform action on the
// key id names (with an encryption context, if any) and says why. c is the
// operator asking: the root principal of the key's account.
func (s *Service) Explain(c Caller, subject *authz.Identity, action, id string, ec map[string]string) (authz.KeyExplanation, error) {
	k, _, err := s.lookup(c, id, keyOrAlias)
	if err != nil {
		return authz.KeyExplanation{}, err
	}
	if op, err := c.who(); err != nil || op.Type != authz.RootType || op.Account != k.rec.Account {
		return authz.KeyExplanation{}, wire.AccessDenied("Only the root principal of the key's account may explain its authorization.")
	}
	op := action
	if len(op) > 4 && op[:4] == "kms:" {
		op = op[4:]
	}
	a := access{op: op, action: action, ec: ec}
	keys, more := s.conditionKeys(c, subject, k, a)
	return authz.ExplainKey(&authz.KeyRequest{
		Identity: subject, Action: action, Operation: op, KeyARN: k.arn, KeyAccount: k.rec.Account,
		KeyPolicy: k.policy, Grants: s.view.grantsOf(k), EncryptionContext: ec, Keys: keys, More: more, Request: c.Request,
	}), nil
}
