package authz

import (
	"strings"

	"github.com/trentkms/trent/internal/policy"
)

// Grant is what authorization needs of a KMS grant.
type Grant struct {
	ID               string
	GranteePrincipal string // an ARN: account root, user, role or assumed-role session
	// GranteeID is the unique id a user or role GranteePrincipal was bound to
	// when the grant was created; "" when it named no entity then.
	GranteeID string
	// GranteeServicePrincipal, instead of GranteePrincipal, is a service
	// principal: the grant is for that registered service acting for
	// itself (CreateGrant, GranteeServicePrincipal).
	GranteeServicePrincipal string
	Operations              []string
	// ContextEquals and ContextSubset are the encryption context
	// constraints. nil is no constraint; an empty, non-nil ContextEquals is
	// one: the request's context must be empty.
	ContextEquals map[string]string
	ContextSubset map[string]string
	// SourceArn is the SourceArn constraint: the request must be made on
	// behalf of this resource (aws:SourceArn).
	SourceArn         string
	HasConstraints    bool
	RetiringPrincipal string
	RetiringID        string // as GranteeID, for RetiringPrincipal
}

// Allows reports whether the grant gives the caller the operation with this
// encryption context, for a request made on behalf of no resource (a
// SourceArn constraint is then not met). DecideKey uses AllowsRequest.
func (g *Grant) Allows(id *Identity, operation string, ec map[string]string) bool {
	return g.allows(id, operation, ec, "")
}

// AllowsRequest reports whether the grant allows a request: the caller is
// the grantee (or a session of the grantee role), the operation is one of the
// grant's, and the request meets the grant's constraints.
func (g *Grant) AllowsRequest(r *KeyRequest) bool {
	return g.allows(r.Identity, r.Operation, r.EncryptionContext, r.Request.SourceARN)
}

func (g *Grant) allows(id *Identity, operation string, ec map[string]string, sourceARN string) bool {
	if !GrantPrincipalIs(g.GranteePrincipal, g.GranteeID, id) && !ServiceIs(g.GranteeServicePrincipal, id) {
		return false
	}
	found := false
	for _, op := range g.Operations {
		found = found || op == operation
	}
	if !found {
		return false
	}
	// "The SourceArn constraint ... does not apply to RetireGrant"
	// (GrantConstraints, KMS API Reference).
	if g.SourceArn != "" && operation != "RetireGrant" && sourceARN != g.SourceArn {
		return false
	}
	// Encryption context constraints apply only to the operations that take
	// an encryption context; "the encryption context constraint is ignored
	// for DescribeKey and RetireGrant", and for CreateGrant it bounds the
	// grants created, not the request (create-grant-overview.md).
	if !TakesEncryptionContext(operation) {
		return true
	}
	if g.ContextEquals != nil && !ContextEquals(g.ContextEquals, ec) {
		return false
	}
	return g.ContextSubset == nil || ContextIncludes(g.ContextSubset, ec)
}

// TakesEncryptionContext reports whether a grant operation has an encryption
// context parameter (create-grant-overview.md: grant constraints).
func TakesEncryptionContext(operation string) bool {
	switch operation {
	case "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
		"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext":
		return true
	}
	return false
}

// ContextIncludes reports whether an encryption context meets an
// EncryptionContextSubset constraint. "In a grant constraint, the key in each
// key-value pair is not case sensitive, but the value is case sensitive"
// (GrantConstraints, KMS API Reference), so a request whose context has
// keys that differ only in case ({"dept":"IT","DEPT":"HR"}) meets the
// constraint only if every one of them has the constraint's value: the
// answer must not depend on which one is meant, and the grant is an Allow.
func ContextIncludes(want, ec map[string]string) bool {
	for k, v := range want {
		found := false
		for ek, ev := range ec {
			if strings.EqualFold(ek, k) {
				if ev != v {
					return false
				}
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ContextEquals reports whether an encryption context meets an
// EncryptionContextEquals constraint: it includes the constraint's pairs
// (as ContextIncludes) and no other key. An empty constraint is met only by
// an empty context.
func ContextEquals(want, ec map[string]string) bool {
	if !ContextIncludes(want, ec) {
		return false
	}
	for ek := range ec {
		covered := false
		for k := range want {
			if strings.EqualFold(ek, k) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

// GrantPrincipalIs reports whether a grant's grantee or retiring principal
// names the caller. A user or role ARN names the entity it was bound to when
// the grant was created (boundID), as a saved policy does: the user with that
// unique id, or the role with that id and its sessions, never an entity
// created later under the same name (IAM User Guide, Principal element, "IAM
// role principals", "IAM user principals"); bound to nothing, it names no
// one. Other principals (account root, assumed-role session) name the caller
// with that ARN.
func GrantPrincipalIs(principal, boundID string, id *Identity) bool {
	if principal == "" {
		return false
	}
	if entityKind(principal) != "" {
		return boundID != "" && boundID == id.EntityID()
	}
	return principal == id.ARN
}

// entityKind says whether an ARN (arn:partition:iam::account:user/… or
// role/…) names an IAM user ("user") or role ("role"), which grants and saved
// policies bind to unique ids, or neither (""). It does not allocate: grants
// are matched on the request path.
func entityKind(principal string) string {
	rest, ok := strings.CutPrefix(principal, "arn:")
	if !ok {
		return ""
	}
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return ""
	}
	if rest, ok = strings.CutPrefix(rest[i+1:], "iam::"); !ok {
		return ""
	}
	if i = strings.IndexByte(rest, ':'); i < 0 {
		return ""
	}
	switch res := rest[i+1:]; {
	case strings.HasPrefix(res, "user/"):
		return "user"
	case strings.HasPrefix(res, "role/"):
		return "role"
	}
	return ""
}

// ServiceIs reports whether a service principal names the caller: a
// registered service acting for itself.
func ServiceIs(service string, id *Identity) bool {
	return service != "" && id.Type == ServiceType && id.ARN == service
}

// KeyRequest is one KMS operation on a key, as authorization sees it.
type KeyRequest struct {
	Identity  *Identity
	Action    string // kms:Encrypt
	Operation string // Encrypt: the name grants list
	KeyARN    string
	// KeyAccount owns the key; a caller of another account needs both the key
	// policy and its own identity policies (KMS Developer Guide: allowing users
	// in other accounts to use a KMS key).
	KeyAccount string
	// RCPs are the resource control policies of the key's account, root
	// first; nil where none apply (no organization, RCPs not enabled, the
	// management account's keys).
	RCPs      []Guardrail
	KeyPolicy *policy.Policy
	Grants    []*Grant
	// EncryptionContext is the request's context, for grant constraints.
	EncryptionContext map[string]string
	// Endpoint is the VPC endpoint policy of the endpoint the request came
	// through, or nil.
	Endpoint *policy.Policy
	// Keys are the request context; More its shared layers, List the keys
	// the request builds anew (see policy.Request).
	Keys    policy.Keys
	More    []policy.Keys
	List    policy.KeyList
	Request Request
}

// KeyDecision is the outcome of a key authorization and what decided it,
// for the server log and the audit event (never for the caller).
type KeyDecision struct {
	Decision
	// By names the mechanism that allowed; ByNone when denied.
	By      DecidedBy
	GrantID string
}

// DecidedBy is the mechanism that allowed a request on a key.
type DecidedBy uint8

const (
	ByNone      DecidedBy = iota
	ByKeyPolicy           // the key policy by itself
	ByIAM                 // the caller's IAM policies, through the key policy's delegation to the account
	ByGrant               // a grant
	// ByRetiringPrincipal: RetireGrant (or ListRetirableGrants) by the
	// grant's retiring principal or service.
	ByRetiringPrincipal
)

var decidedByNames = [...]string{ByNone: "", ByKeyPolicy: "key-policy", ByIAM: "iam", ByGrant: "grant", ByRetiringPrincipal: "retiring-principal"}

// String is the mechanism's name in the audit log and analyses: "key-policy",
// "iam", "grant", "retiring-principal", or "" for none.
func (b DecidedBy) String() string {
	if int(b) < len(decidedByNames) {
		return decidedByNames[b]
	}
	return "unknown"
}

// DecideKey makes AWS KMS's decision for a request on a key: the key policy
// combined with the caller's identity-based policies, boundary, session
// policies, SCPs and the endpoint policy as DecideResource does (an explicit
// deny anywhere wins over everything, grants included; the key policy must
// allow the caller directly, or allow the caller's account so that its IAM
// policies decide: KMS Developer Guide, key policies, IAM policies,
// troubleshooting key access); else a grant for the caller and operation
// allows, unless the denial was final (an explicit deny, an SCP, an RCP or
// the endpoint policy).
func DecideKey(r *KeyRequest) KeyDecision {
	id := r.Identity
	req := &policy.Request{
		Principal: id.PolicyPrincipal(),
		Action:    r.Action, Resource: r.KeyARN, Time: r.Request.Time, Keys: r.Keys, More: r.More, List: r.List,
	}
	kp := policy.Outcome{Decision: policy.NotApplicable, Statement: -1}
	if r.KeyPolicy != nil {
		kp = r.KeyPolicy.Decide(req)
	}
	endpoint := r.Endpoint
	if endpoint == nil {
		endpoint = r.Request.Endpoint
	}
	rcps := r.RCPs
	if r.Action == "kms:RetireGrant" {
		// "The kms:RetireGrant permission is not effective in an RCP, even
		// if the Action element specifies an asterisk" (KMS Developer
		// Guide, resource control policies).
		rcps = nil
	}
	d := DecideResourceWithin(id, req, r.KeyAccount, kp, endpoint, rcps)
	switch {
	case d.Allowed() && d.ByResource:
		return KeyDecision{Decision: d.Decision, By: ByKeyPolicy}
	case d.Allowed():
		return KeyDecision{Decision: d.Decision, By: ByIAM}
	case d.Reason.Final():
		return KeyDecision{Decision: d.Decision}
	}
	limited := Allowed
	for _, g := range r.Grants {
		if !g.AllowsRequest(r) {
			continue
		}
		if why := roleGrantLimits(id, req, g.GranteePrincipal); why != Allowed {
			limited = why
			continue
		}
		return KeyDecision{Decision: Decision{Statement: -1}, By: ByGrant, GrantID: g.ID}
	}
	if limited != Allowed {
		return KeyDecision{Decision: Decision{Reason: limited, Statement: -1}}
	}
	return KeyDecision{Decision: d.Decision}
}

// RoleLimits is what limits a permission a grant gives a principal that is
// a role (its grantee, or its retiring principal, who may retire it) when a
// session of the role uses it: see roleGrantLimits. RetireGrant, which KMS
// decides beside DecideKey (who may retire a grant), applies it to the
// grant's retiring principal and grantee alike.
func RoleLimits(r *KeyRequest, principal string) Reason {
	id := r.Identity
	req := &policy.Request{
		Principal: id.PolicyPrincipal(),
		Action:    r.Action, Resource: r.KeyARN, Time: r.Request.Time, Keys: r.Keys, More: r.More, List: r.List,
	}
	return roleGrantLimits(id, req, principal)
}

// roleGrantLimits applies to a grant whose grantee (or retiring principal)
// is a role, used by a session of the role, what limits a resource-based
// policy naming the role ARN: the session's permissions boundary and session
// policies, whose implicit deny it does not lift
// (reference_policies_evaluation-logic.md, resource-based policies: an IAM
// role ARN "is limited by an implicit deny in a permissions boundary or
// session policy"; access_policies.md, session policies). KMS documents no
// rule of its own for grants; a grant to the session's own ARN grants to the
// session directly. Explicit denies were decided before any grant is looked
// at.
func roleGrantLimits(id *Identity, req *policy.Request, principal string) Reason {
	if id.Type != AssumedRoleType || entityKind(principal) != "role" {
		return Allowed
	}
	if id.Boundary != nil && id.Boundary.Decide(req).Decision != policy.Allow {
		return NoBoundaryAllow
	}
	if id.HasSessionPolicy {
		if out, _ := policy.DecideAll(id.SessionPolicies, req); out.Decision != policy.Allow {
			return NoSessionAllow
		}
	}
	return Allowed
}
