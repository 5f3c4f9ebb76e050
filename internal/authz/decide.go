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
// such as CreateKey): an explicit deny in any policy wins; otherwise the
// SCPs must allow, an identity policy must allow, the boundary (if any) must
// allow, and the session policies (if any) must allow. An account's root user
// is allowed everything in its account unless a policy denies it (IAM User
// Guide, policy evaluation logic; root has no identity policies of its own).
func IdentityBased(id *Identity, r *policy.Request) Decision { return IdentityBasedVia(id, r, nil) }

// IdentityBasedVia is IdentityBased for a request through a VPC endpoint
// whose policy (if not nil) must also allow it.
func IdentityBasedVia(id *Identity, r *policy.Request, endpoint *policy.Policy) Decision {
	ev, d, denied := evaluate(id, r, policy.Outcome{Decision: policy.NotApplicable, Statement: -1}, endpoint, nil)
	if denied {
		return d
	}
	d = Decision{Statement: -1}
	if id.Type != RootType {
		if ev.identity.Decision != policy.Allow {
			return Decision{Reason: NoIdentityAllow, Statement: -1}
		}
		d.Statement, d.Sid = ev.identity.Statement, ev.identity.Sid
	}
	if why := ev.limits(); why != Allowed {
		return Decision{Reason: why, Statement: -1}
	}
	return d
}

// evaluation holds the outcomes of the caller's own policies for a request,
// for the steps after the denials: the identity-based policies, the
// permissions boundary and the session policies (Allow when there are none).
type evaluation struct {
	identity, boundary, session policy.Outcome
}

// limits says whether the boundary and the session policies allow, which
// bound every identity-based allow and every grant to a role.
func (ev *evaluation) limits() Reason {
	switch {
	case ev.boundary.Decision != policy.Allow:
		return NoBoundaryAllow
	case ev.session.Decision != policy.Allow:
		return NoSessionAllow
	}
	return Allowed
}

// evaluate runs the steps of the evaluation logic that deny whatever else
// allows, in AWS's order (IAM User Guide,
// reference_policies_evaluation-logic.md#policy-eval-denyallow): first
// "deny evaluation", an explicit deny in any policy (the SCPs of the
// caller's account, the RCPs of the resource's account, the resource-based
// policy res, the identity-based policies, the boundary, the session
// policies, the VPC endpoint policy); only then the guardrails that do not
// allow: the service control policies at some level of the organization,
// the resource control policies likewise (Organizations User Guide, RCP
// evaluation), and the VPC endpoint policy
// (kms-vpc-endpoint.md#vpce-policy-about). So a caller denied explicitly is
// told so even where a guardrail would not have allowed either. RCPs do
// not limit service-linked roles (Organizations User Guide, RCP effects on
// permissions). It returns the denial, if any, and the outcomes the later
// steps need; it does not allocate.
func evaluate(id *Identity, r *policy.Request, res policy.Outcome, endpoint *policy.Policy, rcps []Guardrail) (evaluation, Decision, bool) {
	ev := evaluation{boundary: policy.Outcome{Decision: policy.Allow}, session: policy.Outcome{Decision: policy.Allow}}
	scps := evalGuardrails(id.SCPs, r, ExplicitSCPDeny, NoSCPAllow)
	if scps.denied {
		return ev, scps.deny, true
	}
	var resourceLimits guardrailOutcome
	if !id.ServiceLinked {
		if resourceLimits = evalGuardrails(rcps, r, ExplicitRCPDeny, NoRCPAllow); resourceLimits.denied {
			return ev, resourceLimits.deny, true
		}
	}
	if res.Decision == policy.ExplicitDeny {
		return ev, Decision{Reason: ExplicitResourceDeny, Statement: res.Statement, Sid: res.Sid}, true
	}
	if ev.identity, _ = policy.DecideAll(id.Policies, r); ev.identity.Decision == policy.ExplicitDeny {
		return ev, Decision{Reason: ExplicitIdentityDeny, Statement: ev.identity.Statement, Sid: ev.identity.Sid}, true
	}
	if id.Boundary != nil {
		if ev.boundary = id.Boundary.Decide(r); ev.boundary.Decision == policy.ExplicitDeny {
			return ev, Decision{Reason: ExplicitBoundaryDeny, Statement: ev.boundary.Statement, Sid: ev.boundary.Sid}, true
		}
	}
	if id.HasSessionPolicy {
		if ev.session, _ = policy.DecideAll(id.SessionPolicies, r); ev.session.Decision == policy.ExplicitDeny {
			return ev, Decision{Reason: ExplicitSessionDeny, Statement: ev.session.Statement, Sid: ev.session.Sid}, true
		}
	}
	endpointAllows := true
	if endpoint != nil {
		switch ep := endpoint.Decide(r); ep.Decision {
		case policy.ExplicitDeny:
			return ev, Decision{Reason: ExplicitEndpointDeny, Statement: ep.Statement, Sid: ep.Sid}, true
		case policy.NotApplicable:
			endpointAllows = false
		}
	}
	switch {
	case scps.blocked:
		return ev, scps.none, true
	case resourceLimits.blocked:
		return ev, resourceLimits.none, true
	case !endpointAllows:
		return ev, Decision{Reason: NoEndpointAllow, Statement: -1}, true
	}
	return ev, Decision{}, false
}
