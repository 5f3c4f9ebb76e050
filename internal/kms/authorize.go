package kms

import (
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
)

// access is what a request does with a key, for authorization.
type access struct {
	op string // the operation as grants name it, e.g. "Encrypt"; the action is kms:<op>
	// action overrides kms:<op> where AWS names the permission otherwise
	// (ReEncryptFrom and ReEncryptTo for ReEncrypt).
	action string
	ec     map[string]string // the encryption context, if the operation takes one
	keys   []string          // more condition keys: name, value, name, value, …
}

func (a access) actionName() string {
	if a.action != "" {
		return a.action
	}
	return "kms:" + a.op
}

// identity returns the caller's identity; in-process callers without one act
// as their account's root principal.
func (c Caller) identity() *authz.Identity {
	if c.Identity != nil {
		return c.Identity
	}
	return &authz.Identity{Principal: authz.Principal{Account: c.Account, ARN: arn.RootARN(c.Account), Type: authz.RootType, UserID: c.Account}}
}

// keyFor resolves a KeyId and authorizes the access on the key it names.
func (s *Service) keyFor(c Caller, id string, forms idForms, a access) (*key, error) {
	k, alias, err := s.lookup(c, id, forms)
	if err != nil {
		return nil, err
	}
	if alias != "" {
		a.keys = append(a.keys, "kms:RequestAlias", alias)
	}
	return k, s.authorize(c, k, a)
}

// authorize decides an access to a key as AWS KMS does, with the key policy,
// the caller's identity policies and the grants on the key.
func (s *Service) authorize(c Caller, k *key, a access) error {
	id := c.identity()
	action := a.actionName()
	r := &authz.KeyRequest{
		Identity: id, Action: action, Operation: a.op, KeyARN: k.arn, KeyAccount: k.rec.Account,
		KeyPolicy: k.policy, EncryptionContext: a.ec, Keys: s.conditionKeys(c, id, k, a), Request: c.Request,
		Grants: s.view.grantsOf(k),
	}
	d := authz.DecideKey(r)
	if d.Allowed() {
		return nil
	}
	s.log.Info("kms: access denied", "caller", id.ARN, "action", action, "key", k.arn, "reason", d.Reason.Message(id.ARN, action, k.arn), "statement", d.Statement, "sid", d.Sid)
	return accessDenied(d.Reason.Message(id.ARN, action, k.arn))
}

// authorizeAccount decides an account-level action (CreateKey, ListKeys,
// ListAliases, GenerateRandom, and alias permissions): only identity-based
// policies govern it (KMS Developer Guide: IAM policies only).
func (s *Service) authorizeAccount(c Caller, action, resource string, extra ...string) error {
	id := c.identity()
	keys := authz.GlobalKeys(id, c.Request)
	keys.Set("kms:CallerAccount", id.Account)
	for i := 0; i+1 < len(extra); i += 2 {
		keys.Add(extra[i], extra[i+1])
	}
	r := &policy.Request{
		Principal: policy.Principal{Type: policy.AWSPrincipal, ARN: id.ARN, Account: id.Account},
		Action:    action, Resource: resource, Time: c.Request.Time, Keys: keys,
	}
	d := authz.IdentityBasedVia(id, r, c.Request.Endpoint)
	if d.Allowed() {
		return nil
	}
	s.log.Info("kms: access denied", "caller", id.ARN, "action", action, "resource", resource, "statement", d.Statement, "sid", d.Sid)
	return accessDenied(d.Reason.Message(id.ARN, action, resource))
}

func accessDenied(msg string) error {
	return wire.AccessDenied(msg)
}

// conditionKeys is the request context of a request on a key: the global
// keys and the kms: keys AWS adds for every request on a key (KMS Developer
// Guide: AWS KMS condition keys), then the operation's own.
func (s *Service) conditionKeys(c Caller, id *authz.Identity, k *key, a access) policy.Keys {
	keys := authz.GlobalKeys(id, c.Request)
	keys.Set("kms:CallerAccount", id.Account)
	keys.Set("kms:KeySpec", k.rec.Spec)
	keys.Set("kms:CustomerMasterKeySpec", k.rec.Spec)
	keys.Set("kms:KeyUsage", k.rec.Usage)
	keys.Set("kms:CustomerMasterKeyUsage", k.rec.Usage)
	keys.Set("kms:KeyOrigin", k.rec.Origin)
	keys.Set("kms:MultiRegion", "false")
	for _, t := range k.rec.Tags {
		keys.Set("aws:ResourceTag/"+t.Key, t.Value)
	}
	for _, name := range s.view.aliasesFor(k) {
		keys.Add("kms:ResourceAliases", name)
	}
	for ek, ev := range a.ec {
		keys.Set("kms:EncryptionContext:"+ek, ev)
		keys.Add("kms:EncryptionContextKeys", ek)
	}
	for i := 0; i+1 < len(a.keys); i += 2 {
		keys.Add(a.keys[i], a.keys[i+1])
	}
	return keys
}

// cryptoAccess is the access of a cryptographic operation that takes an
// encryption context and an algorithm.
func cryptoAccess(op string, ec map[string]string, algKey string, alg *string, def string) access {
	a := access{op: op, ec: ec}
	if algKey != "" {
		v := def
		if alg != nil {
			v = *alg
		}
		if v != "" {
			a.keys = append(a.keys, algKey, v)
		}
	}
	return a
}

// ownAccount reports whether a key belongs to the caller's account: the
// management operations work only there.
func ownAccount(c Caller, k *key) bool { return strings.EqualFold(k.rec.Account, c.Account) }
