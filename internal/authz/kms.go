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
	GranteeID         string
	Operations        []string
	ContextEquals     map[string]string // EncryptionContextEquals constraint
	ContextSubset     map[string]string // EncryptionContextSubset constraint
	HasConstraints    bool
	RetiringPrincipal string
	RetiringID        string // as GranteeID, for RetiringPrincipal
}

// Allows reports whether the grant gives the caller the operation with this
// encryption context (KMS Developer Guide: grants, grant constraints).
func (g *Grant) Allows(id *Identity, operation string, ec map[string]string) bool {
	if !GrantPrincipalIs(g.GranteePrincipal, g.GranteeID, id) {
		return false
	}
	found := false
	for _, op := range g.Operations {
		found = found || op == operation
	}
	if !found {
		return false
	}
	if g.ContextEquals != nil {
		if len(ec) != len(g.ContextEquals) {
			return false
		}
		for k, v := range g.ContextEquals {
			if ev, ok := ec[k]; !ok || ev != v {
				return false
			}
		}
	}
	for k, v := range g.ContextSubset {
		if ev, ok := ec[k]; !ok || ev != v {
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
	if bindable(principal) {
		return boundID != "" && boundID == id.EntityID()
	}
	return principal == id.ARN
}

// bindable reports whether an ARN (arn:partition:iam::account:user/… or
// role/…) names an IAM user or role, which grants and saved policies bind to
// unique ids. It does not allocate: grants are matched on the request path.
func bindable(principal string) bool {
	rest, ok := strings.CutPrefix(principal, "arn:")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return false
	}
	if rest, ok = strings.CutPrefix(rest[i+1:], "iam::"); !ok {
		return false
	}
	if i = strings.IndexByte(rest, ':'); i < 0 {
		return false
	}
	res := rest[i+1:]
	return strings.HasPrefix(res, "user/") || strings.HasPrefix(res, "role/")
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
		if g.Allows(id, r.Operation, r.EncryptionContext) {
			return KeyDecision{Decision: Decision{Statement: -1}, By: "grant", GrantID: g.ID}
		}
	}
	return KeyDecision{Decision: d.Decision}
}
