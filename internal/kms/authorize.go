package kms

import (
	"slices"
	"strings"
	"sync"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// access is what a request does with a key, for authorization.
// Condition key names in access are written in lower case on the hot path:
// AWS matches key names without regard to case, and the policy package wants
// them lowered, which a name already lower costs nothing to do.
type access struct {
	op string // the operation as grants name it, e.g. "Encrypt"; the action is kms:<op>
	// action overrides kms:<op> where AWS names the permission otherwise
	// (ReEncryptFrom and ReEncryptTo for ReEncrypt).
	action string
	ec     map[string]string // the encryption context, if the operation takes one
	keys   []string          // more condition keys: name, value, name, value, …
	// retire is the grant a RetireGrant request retires: its retiring
	// principal and grantee need no policy (see decideRetire).
	retire *grant
	// child is the grant a CreateGrant request makes: only grants at least
	// as wide as it may allow the request (grantsFor).
	child *grantRecord
	// retirable marks a ListRetirableGrants by a retiring service principal
	// asking to see the key's grants it may retire (decideRetirable).
	retirable bool
}

// conditionContext is the encryption context that kms:EncryptionContext:*
// and kms:EncryptionContextKeys describe: the request's, or for CreateGrant
// the one in the grant's constraint. conditions-kms.md lists CreateGrant
// among the operations of both keys, and a CreateGrant has no context of its
// own: what it asks for is a grant limited to a context, and the documented
// Amazon Location statement (key-policy-services.md, "Using encryption
// context condition keys") allows CreateGrant only for grants tied to one
// tracker with kms:EncryptionContext:aws:geo:arn. The pairs of
// EncryptionContextEquals or EncryptionContextSubset, whichever the grant
// has (only one is accepted); a grant without one has no such keys, so a
// condition that requires them does not hold.
func (a access) conditionContext() map[string]string {
	if a.child == nil {
		return a.ec
	}
	if a.child.Equals != nil {
		return a.child.Equals
	}
	return a.child.Subset
}

func (a access) actionName() string {
	if a.action != "" {
		return a.action
	}
	if n, ok := actionNames[a.op]; ok {
		return n
	}
	return "kms:" + a.op
}

// actionNames are the actions of the operations, "kms:<op>", built once
// rather than on every request.
var actionNames = func() map[string]string {
	m := make(map[string]string, len(kmsapi.Operations))
	for op := range kmsapi.Operations {
		m[op] = "kms:" + op
	}
	return m
}()

// who returns the caller's identity. A Caller without one is refused: no
// request runs as a principal it did not name, so in-process callers (tests,
// background jobs) must say who they are.
func (c Caller) who() (*authz.Identity, error) {
	if c.Identity == nil {
		return nil, accessDenied("The request has no authenticated identity.")
	}
	return c.Identity, nil
}

// keyFor resolves a KeyId and authorizes the access on the key it names.
func (s *Service) keyFor(c Caller, id string, forms idForms, a access) (*key, error) {
	k, _, err := s.keyDecision(c, id, forms, a)
	return k, err
}

// keyDecision is keyFor that also returns the decision, for operations that
// act on what allowed them (CreateGrant: which grant).
func (s *Service) keyDecision(c Caller, id string, forms idForms, a access) (*key, authz.KeyDecision, error) {
	if _, err := c.who(); err != nil {
		// Before the lookup: a caller with no identity learns nothing,
		// not even whether the key exists.
		return nil, authz.KeyDecision{}, err
	}
	k, alias, err := s.lookup(c, id, forms)
	if err != nil {
		return nil, authz.KeyDecision{}, err
	}
	if alias != "" {
		a.keys = append(a.keys, "kms:requestalias", alias)
	}
	d, err := s.authorize(c, k, a)
	return k, d, err
}

// authorize is the one door into authorization for a request on a key:
// every operation on a key comes through it (most through keyFor). It
// decides as AWS KMS does (authz.DecideKey: key policy, the caller's
// identity policies, boundary, session and endpoint policies, then the key's
// grants), records the decision for the audit event (Note), logs a denial,
// and returns the decision, with AccessDenied if it denies. The lockout
// safety check of a proposed key policy (keypolicy.go) is the only other
// caller of authz.DecideKey, and it authorizes nothing.
func (s *Service) authorize(c Caller, k *key, a access) (authz.KeyDecision, error) {
	id, err := c.who()
	if err != nil {
		return authz.KeyDecision{}, err
	}
	var d authz.KeyDecision
	if sp := c.Trace.Child("kms.Authorize"); sp.Recording() {
		defer endAuthorizeSpan(sp, k, a, &d)
	}
	switch {
	case a.retire != nil:
		d = s.decideRetire(c, id, k, a)
	case a.retirable:
		d = s.decideRetirable(c, id, k, a)
	default:
		grants, err := s.grantsFor(c, k, a)
		if err != nil {
			return authz.KeyDecision{}, err
		}
		d = s.decide(c, id, k, a, grants)
	}
	c.Note.add(k, d)
	if d.Allowed() {
		return d, nil
	}
	action := a.actionName()
	msg := d.Reason.Message(id.ARN, action, k.arn)
	s.log.InfoContext(c.Trace.Context(), "kms: access denied", "caller", id.ARN, "action", action, "key", k.arn, "reason", msg, "statement", d.Statement, "sid", d.Sid)
	return d, accessDenied(msg)
}

// decideRetire decides a RetireGrant (KMS Developer Guide: retiring and
// revoking grants): an explicit deny of kms:RetireGrant in the key policy or
// the caller's policies stops everyone, as do the guardrails that bound
// every permission (SCPs, the VPC endpoint policy); otherwise the grant's
// retiring principal may retire it, so may its grantee if the grant includes
// RetireGrant, and so may the issuing account through its IAM policies
// (kms:RetireGrant in a key policy has no effect). Grant constraints do not
// apply to RetireGrant.
func (s *Service) decideRetire(c Caller, id *authz.Identity, k *key, a access) authz.KeyDecision {
	g := a.retire
	kr := s.keyRequest(c, id, k, a, nil)
	r := &kr
	d := authz.DecideKey(r)
	if d.Reason.Final() {
		return d
	}
	// A retiring principal or grantee that is a role gives its sessions the
	// right to retire within their boundary and session policies, as a
	// grant to a role gives them its operations (authz.RoleLimits).
	limited := func(principal string, by authz.DecidedBy) authz.KeyDecision {
		if why := authz.RoleLimits(r, principal); why != authz.Allowed {
			return authz.KeyDecision{Decision: authz.Decision{Reason: why, Statement: -1}}
		}
		return authz.KeyDecision{Decision: authz.Decision{Statement: -1}, By: by, GrantID: g.rec.ID}
	}
	switch {
	case authz.ServiceIs(g.rec.RetiringService, id):
		return authz.KeyDecision{Decision: authz.Decision{Statement: -1}, By: authz.ByRetiringPrincipal, GrantID: g.rec.ID}
	case granteeIs(g.rec.Retiring, g.rec.Bindings, id):
		if rd := limited(g.rec.Retiring, authz.ByRetiringPrincipal); rd.Allowed() || !retireAsGrantee(g, id) {
			return rd
		}
		// Limited as the retiring principal: the grant may still let it
		// retire as its grantee.
		return limited(g.rec.Grantee, authz.ByGrant)
	case authz.ServiceIs(g.rec.GranteeService, id) && slices.Contains(g.rec.Ops, "RetireGrant"):
		return authz.KeyDecision{Decision: authz.Decision{Statement: -1}, By: authz.ByGrant, GrantID: g.rec.ID}
	case retireAsGrantee(g, id):
		return limited(g.rec.Grantee, authz.ByGrant)
	case id.Type != authz.ServiceType && g.rec.Issuing == arn.RootARN(id.Account):
		if ad := s.accountDecision(c, id, "kms:RetireGrant", k.arn); ad.Allowed() {
			return authz.KeyDecision{Decision: ad, By: authz.ByIAM}
		}
	}
	return authz.KeyDecision{Decision: authz.Decision{Reason: authz.NoIdentityAllow, Statement: -1}}
}

// retireAsGrantee reports whether the caller is a grant's IAM grantee and the
// grant includes RetireGrant.
func retireAsGrantee(g *grant, id *authz.Identity) bool {
	return granteeIs(g.rec.Grantee, g.rec.Bindings, id) && slices.Contains(g.rec.Ops, "RetireGrant")
}

// decideRetirable decides whether a service principal listing the grants it
// may retire (ListRetirableGrants with RetiringServicePrincipal) sees those
// of a key. AWS authorizes no key for ListRetirableGrants ("KMS does not
// evaluate the caller's permissions to verify their access to any KMS keys
// or grants that might be returned"), and a service has no account whose IAM
// policies could allow it: as for RetireGrant by the retiring principal
// (decideRetire), being the grants' retiring service is the permission, and
// what bounds every permission still applies: an explicit deny (in the key
// policy) and the VPC endpoint policy.
func (s *Service) decideRetirable(c Caller, id *authz.Identity, k *key, a access) authz.KeyDecision {
	if d := s.decide(c, id, k, a, nil); d.Reason.Final() {
		return d
	}
	return authz.KeyDecision{Decision: authz.Decision{Statement: -1}, By: authz.ByRetiringPrincipal}
}

// authorizeAccount decides an account-level action (CreateKey, ListKeys,
// ListAliases, GenerateRandom, and alias permissions): only identity-based
// policies govern it (KMS Developer Guide: IAM policies only).
func (s *Service) authorizeAccount(c Caller, action, resource string, extra ...string) error {
	id, err := c.who()
	if err != nil {
		return err
	}
	sp := c.Trace.Child("kms.Authorize")
	d := s.accountDecision(c, id, action, resource, extra...)
	if sp.Recording() {
		endAccountAuthorizeSpan(sp, action, resource, d.Allowed())
	}
	if d.Allowed() {
		return nil
	}
	s.log.InfoContext(c.Trace.Context(), "kms: access denied", "caller", id.ARN, "action", action, "resource", resource, "statement", d.Statement, "sid", d.Sid)
	return accessDenied(d.Reason.Message(id.ARN, action, resource))
}

// accountDecision is the identity-based decision of authorizeAccount.
func (s *Service) accountDecision(c Caller, id *authz.Identity, action, resource string, extra ...string) authz.Decision {
	keys := authz.GlobalKeys(id, c.Request)
	keys.Set("kms:CallerAccount", id.Account)
	// An account-level action's resource is the caller's account's.
	keys.Set("aws:ResourceAccount", id.Account)
	for n, v := range s.orgOf(id.Account).ResourceKeys() {
		keys[n] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if multiValuedRequestKey(extra[i]) {
			keys.Add(extra[i], extra[i+1])
		} else {
			keys.SetOne(extra[i], extra[i+1])
		}
	}
	r := &policy.Request{
		Principal: policy.Principal{Type: policy.AWSPrincipal, ARN: id.ARN, Account: id.Account},
		Action:    action, Resource: resource, Time: c.Request.Time, Keys: keys,
	}
	return authz.IdentityBasedVia(id, r, c.Request.Endpoint)
}

func accessDenied(msg string) error {
	return wire.AccessDenied(msg)
}

// conditionKeys is the request context of a request on a key (KMS Developer
// Guide: AWS KMS condition keys): the operation's own keys, as a list, then
// shared layers for the request, the caller, the key and its aliases, so that
// the hot path builds only the few keys that are new in each request, and
// builds them without a map.
func (s *Service) conditionKeys(c Caller, id *authz.Identity, k *key, a access) (policy.KeyList, []policy.Keys) {
	return s.conditionKeysIn(new(condArena), c, id, k, a)
}

// conditionKeysIn is conditionKeys built in ar, which must be zero.
func (s *Service) conditionKeysIn(ar *condArena, c Caller, id *authz.Identity, k *key, a access) (policy.KeyList, []policy.Keys) {
	more := ar.more[:0]
	var list policy.KeyList
	if ec := a.conditionContext(); len(ec)+len(a.keys)/2 <= maxListedKeys {
		list = ownKeysList(ar, ec, a.keys)
	} else {
		more = append(more, ownKeysMap(ec, a.keys))
	}
	more = append(more, s.requestKeys(c.Request), id.Keys(), k.condKeys())
	if rk := s.orgOf(k.rec.Account).ResourceKeys(); rk != nil {
		more = append(more, rk) // aws:ResourceOrgID, aws:ResourceOrgPaths
	}
	if tk := authz.TimeKeys(id, c.Request.Time); tk != nil {
		more = append(more, tk) // aws:MultiFactorAuthAge of an MFA session
	}
	if ak := s.view.aliasKeys(k); ak != nil {
		more = append(more, ak)
	}
	return list, more
}

// maxListedKeys is how many keys of its own a request keeps in a
// policy.KeyList, whose every insertion and lookup scans it: a request
// naming more (an encryption context is limited only by the body's size,
// ~95,000 keys in 1 MiB) gets a map instead, or building its keys would
// cost it time quadratic in their number (seconds of CPU for one request).
const maxListedKeys = 16

// ownKeysMap is the keys of ownKeysList as a map, with the same rules.
func ownKeysMap(ec map[string]string, keys []string) policy.Keys {
	m := make(policy.Keys, len(ec)+len(keys)/2+1)
	if len(ec) > 0 {
		eks := make([]string, 0, len(ec))
		for ek, v := range ec {
			eks = append(eks, ek)
			m.SetOne(ecKeyPrefix+ek, v)
		}
		m["kms:encryptioncontextkeys"] = eks
	}
	for i := 0; i+1 < len(keys); i += 2 {
		if multiValuedRequestKey(keys[i]) {
			m.Add(keys[i], keys[i+1])
		} else {
			m.SetOne(keys[i], keys[i+1])
		}
	}
	return m
}

// ownKeysList is the operation's own condition keys (its encryption
// context, kms:EncryptionContextKeys, and the name/value pairs of keys) as
// a list built in ar.
func ownKeysList(ar *condArena, ec map[string]string, keys []string) policy.KeyList {
	vals := ar.vals[:0]
	if n := 2*len(ec) + len(keys)/2; n > len(ar.vals) {
		vals = make([]string, 0, n)
	}
	list := policy.KeyList(ar.list[:0])
	if len(ec) > 0 {
		var ebuf [8]string
		eks := ebuf[:0]
		for ek := range ec {
			eks = append(eks, ek)
		}
		var endBuf [8]int
		all, ends := ecKeyNames(eks, endBuf[:0])
		start := 0
		for i, ek := range eks {
			// Context keys are case-sensitive, condition key names are
			// not: {"tenant":"B","TENANT":"A"} is one ambiguous key
			// (SetOne), so that map order cannot choose the value a policy
			// sees.
			list, vals = list.SetOne(vals, all[start:ends[i]], ec[ek])
			start = ends[i]
		}
		first := len(vals)
		vals = append(vals, eks...)
		list = append(list, policy.ListedKey{Name: "kms:encryptioncontextkeys", Values: vals[first:len(vals):len(vals)]})
	}
	for i := 0; i+1 < len(keys); i += 2 {
		list, vals = addKey(list, vals, keys[i], keys[i+1])
	}
	return list
}

// condArena is what a request's own condition keys are made of, in one
// allocation for the usual few: the layers, the list of the request's keys,
// and their values (each key's values a clipped slice of vals, so that
// appending to one, as a second value of the key does, copies it).
type condArena struct {
	more [7]policy.Keys
	list [5]policy.ListedKey
	vals [6]string
}

const ecKeyPrefix = "kms:encryptioncontext:"

// ecKeyNames returns the condition key names of encryption context keys,
// "kms:encryptioncontext:" and the key lower-cased as policy.Keys wants it,
// back to back in one string, and where each ends (appended to ends).
func ecKeyNames(eks []string, ends []int) (string, []int) {
	n := 0
	for _, ek := range eks {
		n += len(ecKeyPrefix) + len(ek)
	}
	var b strings.Builder
	b.Grow(n)
	for _, ek := range eks {
		b.WriteString(ecKeyPrefix)
		appendLower(&b, ek)
		ends = append(ends, b.Len())
	}
	return b.String(), ends
}

// appendLower writes strings.ToLower(s) to b, without allocating when s is
// ASCII.
func appendLower(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			b.WriteString(strings.ToLower(s))
			return
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

// addKey adds a condition key of a request. The multivalued keys collect
// values; every other key is single-valued and set as with SetOne, so that
// tag keys the request spells in several cases (aws:RequestTag/Env and
// aws:RequestTag/env) make one ambiguous key that fails closed rather than a
// multivalued one that an Allow matches on any value. It returns the list
// and vals with what it took from it.
func addKey(list policy.KeyList, vals []string, name, value string) (policy.KeyList, []string) {
	if multiValuedRequestKey(name) {
		return list.Add(strings.ToLower(name), value), vals
	}
	return list.SetOne(vals, strings.ToLower(name), value)
}

// multiValuedRequestKey reports whether a condition key a request names
// collects values (addKey).
func multiValuedRequestKey(name string) bool {
	return strings.EqualFold(name, "aws:TagKeys") || strings.EqualFold(name, "kms:GrantOperations") || strings.EqualFold(name, "kms:GrantConstraintType")
}

// condKeys are the keys that describe a key, built once per key version:
// kms:KeySpec, kms:KeyUsage, kms:KeyOrigin, kms:MultiRegion,
// kms:MultiRegionKeyType (multi-Region keys only), aws:ResourceAccount and
// aws:ResourceTag/*.
func (k *key) condKeys() policy.Keys {
	k.keysOnce.Do(func() {
		m := policy.Keys{
			"kms:keyspec":                {k.rec.Spec.String()},
			"kms:customermasterkeyspec":  {k.rec.Spec.String()},
			"kms:keyusage":               {k.rec.Usage.String()},
			"kms:customermasterkeyusage": {k.rec.Usage.String()},
			"kms:keyorigin":              {k.rec.Origin.String()},
			"kms:multiregion":            {boolString(k.rec.multiRegion())},
			"aws:resourceaccount":        {k.rec.Account},
		}
		if k.rec.replica() {
			m["kms:multiregionkeytype"] = []string{mrkReplica}
		} else if k.rec.multiRegion() {
			m["kms:multiregionkeytype"] = []string{mrkPrimary}
		}
		for _, t := range k.rec.Tags {
			// KMS tag keys are case-sensitive: Env and env may both be
			// there, and are one ambiguous condition key (SetOne).
			m.SetOne("aws:ResourceTag/"+t.Key, t.Value)
		}
		k.keys = m
	})
	return k.keys
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
		if kv, ok := algKeys[[2]string{algKey, v}]; ok {
			a.keys = kv
		} else if v != "" {
			a.keys = append(a.keys, algKey, v)
		}
	}
	return a
}

// algKeys are the condition keys of the encryption algorithms, made once:
// shared, and full (len = cap), so that appending to them copies.
var algKeys = func() map[[2]string][]string {
	m := map[[2]string][]string{}
	for _, v := range kmsapi.EncryptionAlgorithmSpecValues {
		m[[2]string{"kms:encryptionalgorithm", v}] = []string{"kms:encryptionalgorithm", v}
	}
	return m
}()

// ownAccount reports whether a key belongs to the caller's account: the
// management operations work only there.
func ownAccount(c Caller, k *key) bool { return strings.EqualFold(k.rec.Account, c.Account) }

// requestKeys caches authz.RequestKeys by everything they depend on, so that
// requests from the same client build none.
func (s *Service) requestKeys(r authz.Request) policy.Keys {
	ck := requestKeysKey{r.SourceIP, r.SecureTransport, r.Region, r.OrgID, r.SourceVpce, r.SourceVpc, r.ViaService, r.SourceARN, r.SourceAccount,
		r.SourceOrgID, r.SourceOrgPath, r.UserAgent, r.Referer}
	if v, ok := s.reqKeys.Load(ck); ok {
		return v.(policy.Keys)
	}
	k := authz.RequestKeys(r)
	if s.reqKeysN.Add(1) > maxRequestKeys {
		// Many distinct clients: start over rather than grow without bound.
		s.reqKeys.Clear()
		s.reqKeysN.Store(0)
	}
	s.reqKeys.Store(ck, k)
	return k
}

const maxRequestKeys = 4096

// requestKeysKey is every field of authz.Request that RequestKeys reads.
type requestKeysKey struct {
	ip                   string
	secure               bool
	region, org          string
	vpce, vpc            string
	via, srcARN, srcAcct string
	srcOrg, srcPath      string
	agent, referer       string
}

// decide runs authz.DecideKey for an access, with the given grants. Only
// authorize calls it: a decision that is acted on must be recorded.
//
// The request's condition keys are built in an arena from condArenas: the
// decision keeps nothing of them (a KeyDecision holds the reason, the
// statement's index and Sid, the policy id and the grant id, all from the
// policies and grants), so the arena goes back once it is made.
func (s *Service) decide(c Caller, id *authz.Identity, k *key, a access, grants []*authz.Grant) authz.KeyDecision {
	ar := condArenas.Get().(*condArena)
	r := s.keyRequestIn(ar, c, id, k, a, grants)
	d := authz.DecideKey(&r)
	// Cleared, so that the pool holds no request's strings.
	*ar = condArena{}
	condArenas.Put(ar)
	return d
}

// condArenas recycles the condition-key arenas of decide.
var condArenas = sync.Pool{New: func() any { return new(condArena) }}

// keyRequest is the authorization view of an access to a key (a value, so
// that the hot path keeps it on the stack).
func (s *Service) keyRequest(c Caller, id *authz.Identity, k *key, a access, grants []*authz.Grant) authz.KeyRequest {
	return s.keyRequestIn(new(condArena), c, id, k, a, grants)
}

// keyRequestIn is keyRequest with the condition keys built in ar.
func (s *Service) keyRequestIn(ar *condArena, c Caller, id *authz.Identity, k *key, a access, grants []*authz.Grant) authz.KeyRequest {
	list, more := s.conditionKeysIn(ar, c, id, k, a)
	return authz.KeyRequest{
		Identity: id, Action: a.actionName(), Operation: a.op, KeyARN: k.arn, KeyAccount: k.rec.Account,
		RCPs:      s.orgOf(k.rec.Account).RCPs(),
		KeyPolicy: k.policy, EncryptionContext: a.ec, List: list, More: more, Request: c.Request, Grants: grants,
	}
}

// Organization is what KMS needs of the organization (the IAM directory):
// what it says of an account. It answers from memory.
type Organization interface {
	OrgScope(account string) *authz.AccountOrg
}

// orgOf is what the organization says of an account, nil outside one.
func (s *Service) orgOf(account string) *authz.AccountOrg {
	if s.orgs == nil {
		return nil
	}
	return s.orgs.OrgScope(account)
}
