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

// Explicit reports whether a denial is an explicit deny (a Deny statement
// applied), as opposed to nothing allowing.
func (r Reason) Explicit() bool {
	switch r {
	case ExplicitIdentityDeny, ExplicitBoundaryDeny, ExplicitSessionDeny, ExplicitResourceDeny,
		ExplicitEndpointDeny, ExplicitSCPDeny, ExplicitRCPDeny:
		return true
	}
	return false
}

func policyID(l *Guardrail, i int) string {
	if i >= 0 && i < len(l.IDs) {
		return l.IDs[i]
	}
	return ""
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
