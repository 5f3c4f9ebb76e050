package authz

import (
	"sync"

	"github.com/trentkms/trent/internal/policy"
)

// Guardrail is one level of an organization — its root, an OU, or an
// account — and the policies of one type (service control policies or
// resource control policies) attached there. The levels of an account,
// root first, are its guardrails: every level must allow a request and
// none may deny it (Organizations User Guide, SCP and RCP evaluation; IAM
// User Guide, reference_policies_evaluation-logic.md, Organizations SCPs).
// Guardrails never grant.
type Guardrail struct {
	Target   string // where the policies are attached: r-…, ou-… or an account id
	Policies []*policy.Policy
	// IDs are the Organizations policy ids (p-…) of Policies, one each,
	// for explanations and the decision's Policy.
	IDs []string
}

// guardrailOutcome is what a set of levels says of a request.
type guardrailOutcome struct {
	deny    Decision // the first explicit deny, if denied
	denied  bool
	none    Decision // the first level whose policies allow nothing, if blocked
	blocked bool
}

// evalGuardrails evaluates every level once: an explicit deny in any of
// them, else the first level whose policies allow nothing. It does not
// allocate.
func evalGuardrails(levels []Guardrail, r *policy.Request, explicit, noAllow Reason) guardrailOutcome {
	var g guardrailOutcome
	for i := range levels {
		l := &levels[i]
		out, which := policy.DecideAll(l.Policies, r)
		switch out.Decision {
		case policy.ExplicitDeny:
			g.deny = Decision{Reason: explicit, Statement: out.Statement, Sid: out.Sid, Policy: policyID(l, which)}
			g.denied = true
			return g
		case policy.NotApplicable:
			if !g.blocked {
				g.none = Decision{Reason: noAllow, Statement: -1, Policy: l.Target}
				g.blocked = true
			}
		}
	}
	return g
}

func policyID(l *Guardrail, i int) string {
	if i >= 0 && i < len(l.IDs) {
		return l.IDs[i]
	}
	return ""
}

// guards are the limits on one request that no other policy can lift: the
// service control policies of the caller's account, the resource control
// policies of the resource's account, and the VPC endpoint policy of the
// endpoint the request came through.
type guards struct {
	scps, rcps  guardrailOutcome
	endpoint    policy.Outcome
	hasEndpoint bool
}

// evalLimits evaluates the organization's guardrails and the endpoint
// policy for a request; rcps are the resource's RCPs (nil: none apply).
func evalLimits(id *Identity, r *policy.Request, rcps []Guardrail, endpoint *policy.Policy) guards {
	var g guards
	g.scps = evalGuardrails(id.SCPs, r, ExplicitSCPDeny, NoSCPAllow)
	if !id.ServiceLinked {
		// RCPs do not limit service-linked roles (Organizations User Guide,
		// RCP effects on permissions).
		g.rcps = evalGuardrails(rcps, r, ExplicitRCPDeny, NoRCPAllow)
	}
	if endpoint != nil {
		g.endpoint = endpoint.Decide(r)
		g.hasEndpoint = true
	}
	return g
}

// orgDeny is the explicit deny of an SCP or RCP, if one denies.
func (g *guards) orgDeny() (Decision, bool) {
	switch {
	case g.scps.denied:
		return g.scps.deny, true
	case g.rcps.denied:
		return g.rcps.deny, true
	}
	return Decision{}, false
}

// endpointDeny is the endpoint policy's explicit deny, if it denies.
func (g *guards) endpointDeny() (Decision, bool) {
	if g.hasEndpoint && g.endpoint.Decision == policy.ExplicitDeny {
		return Decision{Reason: ExplicitEndpointDeny, Statement: g.endpoint.Statement, Sid: g.endpoint.Sid}, true
	}
	return Decision{}, false
}

// implicitDeny is the guardrail that allows nothing, if one does: the
// SCPs, then the RCPs, then the endpoint policy. Explicit denies anywhere
// were looked for first (reference_policies_evaluation-logic.md, deny
// evaluation comes before the Organizations steps).
func (g *guards) implicitDeny() (Decision, bool) {
	switch {
	case g.scps.blocked:
		return g.scps.none, true
	case g.rcps.blocked:
		return g.rcps.none, true
	case g.hasEndpoint && g.endpoint.Decision != policy.Allow:
		return Decision{Reason: NoEndpointAllow, Statement: -1}, true
	}
	return Decision{}, false
}

// AccountOrg is what an organization says of one of its accounts: its
// organization (aws:PrincipalOrgID, aws:ResourceOrgID), its place
// (aws:PrincipalOrgPaths, aws:ResourceOrgPaths: o-…/r-…/ou-…/, the
// account's parent last), and the guardrails that limit its principals
// (SCPs) and access to its resources (RCPs). It is built once per change
// of the organization and shared; callers must not change it.
type AccountOrg struct {
	OrgID string
	Paths []string
	// SCPs limit the account's principals and Resource (its RCPs) access
	// to its resources, root first; nil for the management account, which
	// neither limits, and for a type not enabled.
	SCPs, Resource []Guardrail

	keysOnce sync.Once
	keys     policy.Keys
}

// RCPs are the resource control policies of the account's resources; nil
// for a nil AccountOrg.
func (a *AccountOrg) RCPs() []Guardrail {
	if a == nil {
		return nil
	}
	return a.Resource
}

// ResourceKeys are the condition keys that describe a resource of the
// account: aws:ResourceOrgID and aws:ResourceOrgPaths (IAM User Guide,
// global condition keys), built once. nil for a nil AccountOrg.
func (a *AccountOrg) ResourceKeys() policy.Keys {
	if a == nil {
		return nil
	}
	a.keysOnce.Do(func() {
		a.keys = policy.Keys{"aws:resourceorgid": {a.OrgID}, "aws:resourceorgpaths": a.Paths}
	})
	return a.keys
}
