package authz

import (
	"github.com/trentkms/trent/internal/policy"
)

// Reason says why a request was denied, in the terms of AWS's AccessDenied
// messages.
type Reason uint8

const (
	Allowed Reason = iota
	NoIdentityAllow
	ExplicitIdentityDeny
	NoBoundaryAllow
	ExplicitBoundaryDeny
	NoSessionAllow
	ExplicitSessionDeny
	NoResourceAllow
	ExplicitResourceDeny
	NoEndpointAllow
	ExplicitEndpointDeny
	NoSCPAllow
	ExplicitSCPDeny
	NoRCPAllow
	ExplicitRCPDeny
)

// Message is AWS's AccessDenied text for a denial, e.g. "User: arn:… is not
// authorized to perform: iam:CreateUser on resource: arn:… because no
// identity-based policy allows the iam:CreateUser action".
func (r Reason) Message(callerARN, action, resource string) string {
	head := "User: " + callerARN + " is not authorized to perform: " + action + " on resource: " + resource
	switch r {
	case ExplicitIdentityDeny:
		return head + " with an explicit deny in an identity-based policy"
	case NoBoundaryAllow:
		return head + " because no permissions boundary allows the " + action + " action"
	case ExplicitBoundaryDeny:
		return head + " with an explicit deny in a permissions boundary"
	case NoSessionAllow:
		return head + " because no session policy allows the " + action + " action"
	case ExplicitSessionDeny:
		return head + " with an explicit deny in a session policy"
	case NoResourceAllow:
		return head + " because no resource-based policy allows the " + action + " action"
	case ExplicitResourceDeny:
		return head + " with an explicit deny in a resource-based policy"
	case NoEndpointAllow:
		return head + " because no VPC endpoint policy allows the " + action + " action"
	case ExplicitEndpointDeny:
		return head + " with an explicit deny in a VPC endpoint policy"
	case NoSCPAllow:
		return head + " because no service control policy allows the " + action + " action"
	case ExplicitSCPDeny:
		return head + " with an explicit deny in a service control policy"
	case NoRCPAllow:
		return head + " because no resource control policy allows the " + action + " action"
	case ExplicitRCPDeny:
		return head + " with an explicit deny in a resource control policy"
	}
	return head + " because no identity-based policy allows the " + action + " action"
}

// Decision is the outcome of an authorization with what decided it.
type Decision struct {
	Reason Reason
	// Policy and Statement locate the deciding statement for operators (never
	// for callers): Statement is its index, -1 when no statement decided.
	Statement int
	Sid       string
	// Policy, for a decision of the organization's guardrails (SCPs,
	// RCPs), is the Organizations policy (p-…) whose statement denied, or
	// the root, OU or account (r-…, ou-…, account id) whose policies allow
	// nothing.
	Policy string
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Reason == Allowed }

// IdentityBased decides a request that only identity-based policies govern
// (IAM and STS actions on the caller's own account, KMS account-level actions
// such as CreateKey): an explicit deny in any policy wins; otherwise an
// identity policy must allow, the boundary (if any) must allow, and the session
// policies (if any) must allow. An account's root user is allowed everything
// in its account unless a policy denies it (IAM User Guide, policy evaluation
// logic; root has no identity policies of its own).
func IdentityBased(id *Identity, r *policy.Request) Decision { return IdentityBasedVia(id, r, nil) }

// IdentityBasedVia is IdentityBased for a request through a VPC endpoint
// whose policy (if not nil) must also allow it.
func IdentityBasedVia(id *Identity, r *policy.Request, endpoint *policy.Policy) Decision {
	g := evalLimits(id, r, nil, endpoint)
	// Explicit denies first, wherever they are
	// (reference_policies_evaluation-logic.md, deny evaluation).
	if d, ok := g.orgDeny(); ok {
		return d
	}
	idOut, _ := policy.DecideAll(id.Policies, r)
	if idOut.Decision == policy.ExplicitDeny {
		return Decision{Reason: ExplicitIdentityDeny, Statement: idOut.Statement, Sid: idOut.Sid}
	}
	if id.Boundary != nil {
		if out := id.Boundary.Decide(r); out.Decision == policy.ExplicitDeny {
			return Decision{Reason: ExplicitBoundaryDeny, Statement: out.Statement, Sid: out.Sid}
		}
	}
	if id.HasSessionPolicy {
		if out, _ := policy.DecideAll(id.SessionPolicies, r); out.Decision == policy.ExplicitDeny {
			return Decision{Reason: ExplicitSessionDeny, Statement: out.Statement, Sid: out.Sid}
		}
	}
	if d, ok := g.endpointDeny(); ok {
		return d
	}
	if d, ok := g.implicitDeny(); ok {
		return d
	}
	d := Decision{Statement: -1}
	if id.Type != RootType {
		if idOut.Decision != policy.Allow {
			return Decision{Reason: NoIdentityAllow, Statement: -1}
		}
		d.Statement, d.Sid = idOut.Statement, idOut.Sid
	}
	if id.Boundary != nil && id.Boundary.Decide(r).Decision != policy.Allow {
		return Decision{Reason: NoBoundaryAllow, Statement: -1}
	}
	if id.HasSessionPolicy {
		if out, _ := policy.DecideAll(id.SessionPolicies, r); out.Decision != policy.Allow {
			return Decision{Reason: NoSessionAllow, Statement: -1}
		}
	}
	return d
}
