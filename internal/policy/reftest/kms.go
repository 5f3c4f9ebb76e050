package reftest

import "strings"

// AWS's reasons for a denial, as the AccessDenied message words them.
const (
	NoIdentityAllow      = "no identity-based policy allows"
	ExplicitIdentityDeny = "explicit deny in an identity-based policy"
	NoBoundaryAllow      = "no permissions boundary allows"
	ExplicitBoundaryDeny = "explicit deny in a permissions boundary"
	NoSessionAllow       = "no session policy allows"
	ExplicitSessionDeny  = "explicit deny in a session policy"
	NoResourceAllow      = "no resource-based policy allows"
	ExplicitResourceDeny = "explicit deny in a resource-based policy"
	NoEndpointAllow      = "no VPC endpoint policy allows"
	ExplicitEndpointDeny = "explicit deny in a VPC endpoint policy"
	NoSCPAllow           = "no service control policy allows"
	ExplicitSCPDeny      = "explicit deny in a service control policy"
)

// Identity is a caller with the policies that govern it.
type Identity struct {
	Caller   Caller
	Policies []*Policy // identity-based: the user's and its groups', or the role's
	Boundary *Policy   // nil: none
	// SessionPolicies narrow a session when HasSessionPolicy.
	SessionPolicies  []*Policy
	HasSessionPolicy bool
	SCPs             []*Policy // one per organization level
}

// KeyGrant is a grant on the key.
type KeyGrant struct {
	Grantee    string // an ARN
	Operations []string
	// Equals and Subset are the encryption context constraints; HasEquals
	// tells an empty Equals from none.
	Equals    map[string]string
	HasEquals bool
	Subset    map[string]string
	// SourceArn is the SourceArn constraint: "effectively the same as having
	// the aws:SourceArn global condition key in the grant" (GrantConstraints,
	// KMS API model).
	SourceArn string
}

// KeyRequest is a request on a KMS key.
type KeyRequest struct {
	Identity          *Identity
	Operation         string // the grant operation, e.g. Encrypt
	KeyAccount        string
	KeyPolicy         *Policy
	Grants            []KeyGrant
	EncryptionContext map[string]string
	Endpoint          *Policy // the VPC endpoint policy, or nil
	// Request is the request context; its Caller is the identity's.
	Request *Request
}

// Verdict is the reference's decision: allowed or not, and every answer
// the documentation leaves open: the mechanisms that allow, or the reasons
// a denial may give when several are true.
type Verdict struct {
	Allowed bool
	By      []string // "key-policy", "iam", "grant"
	Reasons []string
}

// sourceArnOf is the request's aws:SourceArn, or "".
func sourceArnOf(r *Request) string {
	for _, p := range r.Single {
		if strings.EqualFold(p.Name, "aws:SourceArn") {
			return p.Value
		}
	}
	return ""
}

func anyEffect(ps []*Policy, r *Request, e Effect) bool {
	for _, p := range ps {
		if p.Evaluate(r).Effect == e {
			return true
		}
	}
	return false
}

// denials runs the steps that can deny whatever else allows
// (reference_policies_evaluation-logic.md, "Determining whether a request is
// allowed or denied within an account"): an explicit deny in any policy,
// then service control policies that do not allow at some level, then a VPC
// endpoint policy that does not allow (kms-vpc-endpoint.md, "About VPC
// endpoint policies": the endpoint policy must also allow).
func denials(id *Identity, resource *Policy, endpoint *Policy, r *Request) []string {
	var explicit []string
	if anyEffect(id.SCPs, r, Deny) {
		explicit = append(explicit, ExplicitSCPDeny)
	}
	if resource != nil && resource.Evaluate(r).Effect == Deny {
		explicit = append(explicit, ExplicitResourceDeny)
	}
	if anyEffect(id.Policies, r, Deny) {
		explicit = append(explicit, ExplicitIdentityDeny)
	}
	if id.Boundary != nil && id.Boundary.Evaluate(r).Effect == Deny {
		explicit = append(explicit, ExplicitBoundaryDeny)
	}
	if id.HasSessionPolicy && anyEffect(id.SessionPolicies, r, Deny) {
		explicit = append(explicit, ExplicitSessionDeny)
	}
	if endpoint != nil && endpoint.Evaluate(r).Effect == Deny {
		explicit = append(explicit, ExplicitEndpointDeny)
	}
	if len(explicit) > 0 {
		return explicit
	}
	// Which of these two implicit denies a denial names when both hold is
	// not documented: either will do.
	var implicit []string
	for _, p := range id.SCPs {
		if p.Evaluate(r).Effect != Allow {
			implicit = []string{NoSCPAllow}
		}
	}
	if endpoint != nil && endpoint.Evaluate(r).Effect != Allow {
		implicit = append(implicit, NoEndpointAllow)
	}
	return implicit
}

// identitySide lists why the caller's own account does not allow: its
// identity-based policies (the root user needs none: it "has full access"),
// its permissions boundary, its session policies
// (reference_policies_evaluation-logic.md, steps "Identity-based policies",
// "IAM permissions boundaries", "Session policies").
func identitySide(id *Identity, r *Request) []string {
	var why []string
	if id.Caller.Kind != "root" && !anyEffect(id.Policies, r, Allow) {
		why = append(why, NoIdentityAllow)
	}
	return append(why, limits(id, r)...)
}

// limits lists the boundary and session policies that do not allow.
func limits(id *Identity, r *Request) []string {
	var why []string
	if id.Boundary != nil && id.Boundary.Evaluate(r).Effect != Allow {
		why = append(why, NoBoundaryAllow)
	}
	if id.HasSessionPolicy && !anyEffect(id.SessionPolicies, r, Allow) {
		why = append(why, NoSessionAllow)
	}
	return why
}

// IdentityBased decides a request that only identity-based policies govern
// (KMS CreateKey, ListKeys…: kms-api-permissions-reference.md; IAM and STS
// actions on the caller's account).
func IdentityBased(id *Identity, endpoint *Policy, r *Request) Verdict {
	if d := denials(id, nil, endpoint, r); d != nil {
		return Verdict{Reasons: d}
	}
	if why := identitySide(id, r); len(why) > 0 {
		return Verdict{Reasons: why}
	}
	return Verdict{Allowed: true, By: []string{"iam"}}
}

// DecideKey decides a request on a KMS key
// (aws-kms-developer-guide/policy-evaluation.md; key-policies.md: "unless the
// key policy explicitly allows it, you cannot use IAM policies to allow
// access"; key-policy-modifying-external-accounts.md: another account needs
// the key policy and its own IAM policies; grants.md: a grant allows its
// grantee its operations, within its constraints, and cannot override a
// deny).
func DecideKey(k *KeyRequest) Verdict {
	id, r := k.Identity, k.Request
	if d := denials(id, k.KeyPolicy, k.Endpoint, r); d != nil {
		return Verdict{Reasons: d}
	}
	var v Verdict
	kp := k.KeyPolicy.Evaluate(r)
	sameAccount := id.Caller.Account == k.KeyAccount
	switch {
	case kp.Effect != Allow:
		// The key policy is the only way in for IAM policies; for another
		// account's caller both evaluations fail when its own does too.
		v.Reasons = append(v.Reasons, NoResourceAllow)
		if !sameAccount {
			v.Reasons = append(v.Reasons, identitySide(id, r)...)
		}
	case id.Caller.Kind == "service":
		// A service principal has no identity policies: only a key policy
		// naming it (or everyone) grants it anything.
		if kp.Grant == GrantDirect {
			v.By = append(v.By, "key-policy")
		} else {
			v.Reasons = append(v.Reasons, NoResourceAllow)
		}
	case sameAccount && kp.Grant == GrantDirect:
		// "not limited by an implicit deny in an identity-based policy, a
		// permissions boundary, or session policy"
		v.By = append(v.By, "key-policy")
	case sameAccount && kp.Grant == GrantRole:
		// "limited by an implicit deny in a permissions boundary or session
		// policy"
		if why := limits(id, r); len(why) > 0 {
			v.Reasons = append(v.Reasons, why...)
		} else {
			v.By = append(v.By, "key-policy")
		}
	default:
		// A delegation to the account, or any grant to another account's
		// caller: the caller's own account must allow.
		if why := identitySide(id, r); len(why) > 0 {
			v.Reasons = append(v.Reasons, why...)
		} else {
			v.By = append(v.By, "iam")
		}
	}
	for _, g := range k.Grants {
		if grantApplies(g, id, k.Operation, k.EncryptionContext, sourceArnOf(r)) {
			v.By = append(v.By, "grant")
			break
		}
	}
	v.Allowed = len(v.By) > 0
	return v
}

// grantApplies: the grantee is the caller, or the role of a session caller
// (grants.md, "grantee principal"); the operation is the grant's; a
// SourceArn constraint names the request's aws:SourceArn; and for the
// operations that take an encryption context (an encryption context
// constraint "is ignored for DescribeKey and RetireGrant",
// create-grant-overview.md; for CreateGrant it bounds the grants created,
// which the KMS operation checks) the context meets the constraint: it
// equals EncryptionContextEquals or includes every pair of
// EncryptionContextSubset, keys compared without regard to case and values
// with it ("in a grant constraint, the key in each key-value pair is not
// case sensitive, but the value is case sensitive", GrantConstraints). A
// context whose keys differ only in case meets a pair only if each of them
// does: a grant is an allow, which holds only if it holds for every
// colliding value (docs/SECURITY.md).
func grantApplies(g KeyGrant, id *Identity, op string, ec map[string]string, sourceArn string) bool {
	c := id.Caller
	grantee := g.Grantee == c.ARN
	if c.Kind == "session" {
		if acct, name, ok := roleOf(g.Grantee); ok && acct == c.Account && name == c.Role {
			grantee = true
		}
	}
	if !grantee {
		return false
	}
	found := false
	for _, o := range g.Operations {
		found = found || o == op
	}
	if !found {
		return false
	}
	if g.SourceArn != "" && g.SourceArn != sourceArn {
		return false
	}
	switch op {
	case "DescribeKey", "RetireGrant", "CreateGrant":
		return true
	}
	includes := func(want map[string]string) bool {
		for k, v := range want {
			present := false
			for ek, ev := range ec {
				if strings.EqualFold(ek, k) {
					present = true
					if ev != v {
						return false
					}
				}
			}
			if !present {
				return false
			}
		}
		return true
	}
	if g.HasEquals {
		if !includes(g.Equals) {
			return false
		}
		for ek := range ec {
			listed := false
			for k := range g.Equals {
				if strings.EqualFold(ek, k) {
					listed = true
				}
			}
			if !listed {
				return false
			}
		}
	}
	return includes(g.Subset)
}
