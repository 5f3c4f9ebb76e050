package authz

import (
	"strings"

	"github.com/trentkms/trent/internal/policy"
)

// Grant is what authorization needs of a KMS grant.
type Grant struct {
	ID               string
	GranteePrincipal string // an ARN: account root, user, role or assumed-role session
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
	if !granteeMatches(g.GranteePrincipal, id) && !ServiceIs(g.GranteeServicePrincipal, id) {
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

// granteeMatches: a grant to a principal covers that principal; a grant to a
// role covers the role's sessions, as a role ARN does in a policy.
func granteeMatches(grantee string, id *Identity) bool {
	if grantee == id.ARN {
		return true
	}
	if id.Type == AssumedRoleType && id.RoleARN != "" {
		if grantee == id.RoleARN {
			return true
		}
		// A role ARN written without its path still names the role.
		if i := strings.LastIndexByte(id.RoleARN, '/'); i >= 0 && grantee == "arn:aws:iam::"+id.Account+":role/"+id.RoleARN[i+1:] {
			return true
		}
	}
	return false
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
	KeyPolicy  *policy.Policy
	Grants     []*Grant
	// EncryptionContext is the request's context, for grant constraints.
	EncryptionContext map[string]string
	// Endpoint is the VPC endpoint policy of the endpoint the request came
	// through, or nil.
	Endpoint *policy.Policy
	// Keys are the request context; More its shared layers (see policy.Request).
	Keys    policy.Keys
	More    []policy.Keys
	Request Request
}

// KeyDecision is the outcome of a key authorization and what decided it,
// for the server log and the audit event (never for the caller).
type KeyDecision struct {
	Decision
	// By names the mechanism that allowed: "key-policy", "iam" (through the
	// key policy's delegation to the account) or "grant".
	By      string
	GrantID string
}

// DecideKey makes AWS KMS's decision for a request on a key: the key policy
// combined with the caller's identity-based policies, boundary, session
// policies, SCPs and the endpoint policy as DecideResource does (an explicit
// deny anywhere wins over everything, grants included; the key policy must
// allow the caller directly, or allow the caller's account so that its IAM
// policies decide: KMS Developer Guide, key policies, IAM policies,
// troubleshooting key access); else a grant for the caller and operation
// allows, unless the denial was final (an explicit deny, an SCP or the
// endpoint policy).
func DecideKey(r *KeyRequest) KeyDecision {
	id := r.Identity
	req := &policy.Request{
		Principal: id.PolicyPrincipal(),
		Action:    r.Action, Resource: r.KeyARN, Time: r.Request.Time, Keys: r.Keys, More: r.More,
	}
	kp := policy.Outcome{Decision: policy.NotApplicable, Statement: -1}
	if r.KeyPolicy != nil {
		kp = r.KeyPolicy.Decide(req)
	}
	endpoint := r.Endpoint
	if endpoint == nil {
		endpoint = r.Request.Endpoint
	}
	d := DecideResource(id, req, r.KeyAccount, kp, endpoint)
	switch {
	case d.Allowed() && d.ByResource:
		return KeyDecision{Decision: d.Decision, By: "key-policy"}
	case d.Allowed():
		return KeyDecision{Decision: d.Decision, By: "iam"}
	case d.Reason.final():
		return KeyDecision{Decision: d.Decision}
	}
	for _, g := range r.Grants {
		if g.AllowsRequest(r) {
			return KeyDecision{Decision: Decision{Statement: -1}, By: "grant", GrantID: g.ID}
		}
	}
	return KeyDecision{Decision: d.Decision}
}
