package authz

import (
	"github.com/trentkms/trent/internal/policy"
)

// ResourceDecision is the outcome of DecideResource.
type ResourceDecision struct {
	Decision
	// ByResource says the resource-based policy allowed by itself; otherwise
	// an allow came from the caller's identity-based policies, through the
	// resource-based policy's allow of the caller's account (or of a caller
	// in another account).
	ByResource bool
}

// Final reports whether nothing can overturn a denial for this reason, not a
// grant nor any other permission: an explicit deny anywhere, and the
// implicit denies of the service control policies and the VPC endpoint
// policy, which limit every request.
func (r Reason) Final() bool {
	switch r {
	case ExplicitIdentityDeny, ExplicitBoundaryDeny, ExplicitSessionDeny, ExplicitResourceDeny,
		ExplicitEndpointDeny, NoEndpointAllow, ExplicitSCPDeny, NoSCPAllow, ExplicitRCPDeny, NoRCPAllow:
		return true
	}
	return false
}

// DecideResource makes the IAM decision for a request on a resource whose
// resource-based policy must allow the caller: KMS key policies and IAM role
// trust policies, which "must explicitly allow access for principals" (IAM
// User Guide, reference_policies_evaluation-logic.md, "Determining whether a
// request is allowed or denied within an account", step "Resource-based
// policies"). res is the resource-based policy's outcome for req (with the
// way its Principal matched the caller, res.Via), resourceAccount the account
// that owns the resource, endpoint the VPC endpoint policy or nil.
//
//   - An explicit deny in any policy wins, and is what a denial reports
//     even where the SCPs of the caller's account or the endpoint policy,
//     which must allow too, do not (evaluate).
//   - The resource-based policy must allow the caller.
//   - Within the account, what else must allow depends on the principal the
//     resource-based policy named (the table "Resource-based policies and
//     implicit denies in other policy types (same account)"): the caller's
//     own ARN (an IAM user, or a role session's own session ARN) grants
//     directly, "not limited by an implicit deny in an identity-based
//     policy, a permissions boundary, or session policy"; a role ARN, for
//     the role's sessions, is "limited by an implicit deny in a permissions
//     boundary or session policy"; "*" grants directly too
//     (reference_policies_elements_principal.md, "IAM role principals":
//     boundaries and session policies "do not limit permissions granted …
//     with a wildcard (*) in the Principal element"); the account (its id or
//     root ARN) only delegates to the account's identity-based policies, so
//     they must allow, within the boundary and session policies.
//   - A caller of another account needs its identity-based policies (within
//     its boundary and session policies) to allow as well, whatever the
//     resource-based policy named (reference_policies_evaluation-logic-cross-account.md).
//   - A service principal has no identity-based policies: the resource-based
//     policy naming the service (or everyone, or everyone but principals
//     its NotPrincipal names) is its whole permission.
//
// The root user is allowed everything in its own account's identity-based
// terms. DecideResource does not allocate.
func DecideResource(id *Identity, req *policy.Request, resourceAccount string, res policy.Outcome, endpoint *policy.Policy) ResourceDecision {
	return DecideResourceWithin(id, req, resourceAccount, res, endpoint, nil)
}

// DecideResourceWithin is DecideResource for a resource of a member account
// of an organization whose resource control policies (rcps, root first)
// limit access to it: every level must allow the request, whoever makes it,
// and none may deny it (Organizations User Guide, RCP evaluation). RCPs do
// not limit service-linked roles; the caller leaves rcps nil where they do
// not apply (the management account's resources, and actions they do not
// cover).
func DecideResourceWithin(id *Identity, req *policy.Request, resourceAccount string, res policy.Outcome, endpoint *policy.Policy, rcps []Guardrail) ResourceDecision {
	ev, d, denied := evaluate(id, req, res, endpoint, rcps)
	if denied {
		return ResourceDecision{Decision: d}
	}
	if res.Decision != policy.Allow {
		return deny(NoResourceAllow, -1, "")
	}
	byResource := ResourceDecision{Decision: Decision{Statement: res.Statement, Sid: res.Sid}, ByResource: true}
	if id.Type == ServiceType {
		// NotPrincipal with Allow "allows all principals except the one
		// named" (reference_policies_elements_notprincipal.md#specifying-notprincipal-allow),
		// services it does not name included, as "*" does; an account or
		// role ARN names no service.
		if res.Via >= policy.ViaNotPrincipal {
			return byResource
		}
		return deny(NoResourceAllow, -1, "")
	}
	if id.Account == resourceAccount {
		switch {
		case res.Via == policy.ViaRole:
			if why := ev.limits(); why != Allowed {
				return deny(why, -1, "")
			}
			return byResource
		case res.Via >= policy.ViaNotPrincipal:
			return byResource
		}
	}
	// The caller's account decides: through a delegation to the account, or
	// for a caller of another account.
	if id.Type != RootType && ev.identity.Decision != policy.Allow {
		return deny(NoIdentityAllow, -1, "")
	}
	if why := ev.limits(); why != Allowed {
		return deny(why, -1, "")
	}
	if id.Type == RootType {
		// The root user has no identity-based policies to name: what
		// decided is the resource-based policy's statement that delegated
		// to its account (for a KMS key, the key policy statement that
		// names the account, "Enable IAM User Permissions" in the default
		// policy), which the audit event names.
		return ResourceDecision{Decision: Decision{Statement: res.Statement, Sid: res.Sid}}
	}
	return ResourceDecision{Decision: Decision{Statement: ev.identity.Statement, Sid: ev.identity.Sid}}
}

func deny(r Reason, statement int, sid string) ResourceDecision {
	return ResourceDecision{Decision: Decision{Reason: r, Statement: statement, Sid: sid}}
}
