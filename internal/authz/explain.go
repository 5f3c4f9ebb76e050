package authz

import (
	"fmt"
	"strings"

	"github.com/trentkms/trent/internal/policy"
)

// KeyExplanation says why DecideKey decided as it did: the decision, and how
// each policy and grant took part. It is for operators (trent authz explain),
// never for callers.
type KeyExplanation struct {
	Decision KeyDecision
	Action   string
	Caller   string
	KeyARN   string
	// Message is the AccessDenied text a caller would get, when denied.
	Message   string
	KeyPolicy policy.Explanation
	Identity  []policy.Explanation // one per identity-based policy
	Boundary  *policy.Explanation
	Session   []policy.Explanation
	Endpoint  *policy.Explanation
	Grants    []GrantMatch
	// SCPs and RCPs explain the organization's guardrails, level by level
	// (root first): the caller's service control policies and the key
	// account's resource control policies that applied.
	SCPs, RCPs []GuardrailExplanation
}

// GuardrailExplanation is one level of an organization's guardrails: the
// root, OU or account, and how each policy attached there took part.
type GuardrailExplanation struct {
	Target   string
	Policies []OrgPolicyExplanation
}

// OrgPolicyExplanation is an SCP or RCP and its statements.
type OrgPolicyExplanation struct {
	ID string
	policy.Explanation
}

func explainGuardrails(levels []Guardrail, req *policy.Request) []GuardrailExplanation {
	var out []GuardrailExplanation
	for _, l := range levels {
		g := GuardrailExplanation{Target: l.Target}
		for i, p := range l.Policies {
			id := ""
			if i < len(l.IDs) {
				id = l.IDs[i]
			}
			g.Policies = append(g.Policies, OrgPolicyExplanation{ID: id, Explanation: p.Explain(req)})
		}
		out = append(out, g)
	}
	return out
}

// GrantMatch is one grant on the key and whether it covers the request.
type GrantMatch struct {
	ID         string
	Grantee    string
	Operations []string
	Applies    bool
}

// ExplainKey decides r and explains the decision.
func ExplainKey(r *KeyRequest) KeyExplanation {
	d := DecideKey(r)
	req := &policy.Request{
		Principal: r.Identity.PolicyPrincipal(),
		Action:    r.Action, Resource: r.KeyARN, Time: r.Request.Time, Keys: r.Keys, More: r.More, List: r.List,
	}
	x := KeyExplanation{Decision: d, Action: r.Action, Caller: r.Identity.ARN, KeyARN: r.KeyARN}
	if !d.Allowed() {
		x.Message = d.Reason.Message(r.Identity.ARN, r.Action, r.KeyARN)
	}
	if r.KeyPolicy != nil {
		x.KeyPolicy = r.KeyPolicy.Explain(req)
	}
	for _, p := range r.Identity.Policies {
		x.Identity = append(x.Identity, p.Explain(req))
	}
	if r.Identity.Boundary != nil {
		b := r.Identity.Boundary.Explain(req)
		x.Boundary = &b
	}
	for _, p := range r.Identity.SessionPolicies {
		x.Session = append(x.Session, p.Explain(req))
	}
	ep := r.Endpoint
	if ep == nil {
		ep = r.Request.Endpoint
	}
	if ep != nil {
		e := ep.Explain(req)
		x.Endpoint = &e
	}
	x.SCPs = explainGuardrails(r.Identity.SCPs, req)
	if rcps := r.RCPs; rcps != nil && r.Action != "kms:RetireGrant" && !r.Identity.ServiceLinked {
		x.RCPs = explainGuardrails(rcps, req)
	}
	for _, g := range r.Grants {
		x.Grants = append(x.Grants, GrantMatch{ID: g.ID, Grantee: g.GranteePrincipal, Operations: g.Operations, Applies: g.AllowsRequest(r)})
	}
	return x
}

// String renders the explanation for a terminal.
func (x KeyExplanation) String() string {
	var b strings.Builder
	verdict := "ALLOW"
	if !x.Decision.Allowed() {
		verdict = "DENY"
	}
	fmt.Fprintf(&b, "%s %s on %s by %s\n", verdict, x.Action, x.KeyARN, x.Caller)
	switch {
	case x.Decision.Allowed() && x.Decision.By == ByGrant:
		fmt.Fprintf(&b, "  allowed by grant %s\n", x.Decision.GrantID)
	case x.Decision.Allowed():
		fmt.Fprintf(&b, "  allowed by the %s (statement %d %q)\n", map[DecidedBy]string{ByKeyPolicy: "key policy", ByIAM: "caller's IAM policies through the key policy's delegation to the account"}[x.Decision.By], x.Decision.Statement, x.Decision.Sid)
	default:
		fmt.Fprintf(&b, "  %s\n", x.Message)
		switch d := x.Decision.Decision; d.Reason {
		case ExplicitSCPDeny, ExplicitRCPDeny:
			fmt.Fprintf(&b, "  denied by %s %s, statement %d %q\n", guardrailKind(d.Reason), d.Policy, d.Statement, d.Sid)
		case NoSCPAllow, NoRCPAllow:
			fmt.Fprintf(&b, "  no %s attached to %s allows it\n", guardrailKind(d.Reason), d.Policy)
		}
	}
	section := func(name string, e policy.Explanation) {
		fmt.Fprintf(&b, "%s: %s\n", name, e.Decision)
		for _, t := range e.Statements {
			mark := "  -"
			if t.Applied {
				mark = "  +"
			}
			fmt.Fprintf(&b, "%s [%d] %q %s", mark, t.Statement, t.Sid, t.Effect)
			if t.Applied {
				fmt.Fprintf(&b, " applies (principal %s)\n", t.Via)
				continue
			}
			var why []string
			for _, m := range t.Misses {
				why = append(why, m.Reason)
			}
			fmt.Fprintf(&b, " does not apply: %s\n", strings.Join(why, "; "))
		}
	}
	section("key policy", x.KeyPolicy)
	for i, e := range x.Identity {
		section(fmt.Sprintf("identity policy %d", i+1), e)
	}
	if x.Boundary != nil {
		section("permissions boundary", *x.Boundary)
	}
	for i, e := range x.Session {
		section(fmt.Sprintf("session policy %d", i+1), e)
	}
	if x.Endpoint != nil {
		section("VPC endpoint policy", *x.Endpoint)
	}
	for _, levels := range []struct {
		kind string
		l    []GuardrailExplanation
	}{{"SCP", x.SCPs}, {"RCP", x.RCPs}} {
		for _, l := range levels.l {
			for _, p := range l.Policies {
				section(fmt.Sprintf("%s %s at %s", levels.kind, p.ID, l.Target), p.Explanation)
			}
		}
	}
	for _, g := range x.Grants {
		state := "does not cover this request"
		if g.Applies {
			state = "covers this request"
		}
		fmt.Fprintf(&b, "grant %s to %s for %s: %s\n", g.ID, g.Grantee, strings.Join(g.Operations, ","), state)
	}
	return b.String()
}

func guardrailKind(r Reason) string {
	if r == ExplicitRCPDeny || r == NoRCPAllow {
		return "RCP"
	}
	return "SCP"
}
