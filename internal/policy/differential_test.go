package policy_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/policy/reftest"
)

// The differential test: the engine and reftest, a reference evaluator
// written separately from the IAM User Guide, decide generated policies and
// requests; they must agree on the decision, on how an allowing Principal
// covered the caller, and the engine's deciding statement must be one the
// reference found deciding. A disagreement is printed as a reproduction: the
// document and the request.

// differentialCases is how many cases go test runs (deterministically);
// FuzzDifferential explores further.
const differentialCases = 4000

func TestDifferential(t *testing.T) {
	outcomes := map[string]int{}
	for i := 0; i < differentialCases; i++ {
		g := reftest.NewGen(uint64(i), 0x5eed)
		kind, doc, req, bound := drawCase(g)
		if msg := compareOne(kind, doc, req, bound); msg != "" {
			t.Fatalf("case %d: %s", i, msg)
		}
		ref, _ := reftest.Parse(doc)
		ref.Bound, ref.Bindings = bound != nil, bound
		o := ref.Evaluate(req)
		outcomes[o.Effect.String()]++
		if o.Effect == reftest.Allow {
			outcomes["allow "+o.Grant.String()]++
		}
	}
	t.Logf("outcomes: %v", outcomes)
	// A generator that drifted into deciding everything alike would agree
	// trivially: every outcome must stay common.
	for _, o := range []string{"NotApplicable", "Allow", "Deny", "allow identity", "allow account", "allow role", "allow direct"} {
		if outcomes[o] < differentialCases/200 {
			t.Errorf("only %d of %d cases %s: the generator no longer explores it", outcomes[o], differentialCases, o)
		}
	}
}

func FuzzDifferential(f *testing.F) {
	for i := uint64(0); i < 8; i++ {
		f.Add(i, uint64(0x5eed))
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		kind, doc, req, bound := drawCase(reftest.NewGen(a, b))
		if msg := compareOne(kind, doc, req, bound); msg != "" {
			t.Fatal(msg)
		}
	})
}

// drawCase draws a policy of either kind and a request; a resource-based
// policy is sometimes saved with its principals bound to unique ids, some of
// which belong to entities deleted since (another id than the caller's).
func drawCase(g *reftest.Gen) (kind string, doc []byte, req *reftest.Request, bound map[string]string) {
	kind = reftest.IdentityPolicy
	if g.R.IntN(2) == 0 {
		kind = reftest.ResourcePolicy
	}
	req = g.Request()
	doc = g.Policy(kind, req.Caller)
	// AWS documents binding for Principal; whether a NotPrincipal binds too
	// it does not say, so bound policies here have no NotPrincipal.
	if kind == reftest.ResourcePolicy && g.R.IntN(3) == 0 && !bytes.Contains(doc, []byte(`"NotPrincipal"`)) {
		bound = map[string]string{}
		for _, arn := range policy.BindablePrincipals(doc) {
			bound[arn] = entityID(arn)
			if g.R.IntN(4) == 0 {
				bound[arn] = "AIDARECREATED000009" // the entity was deleted and made again
			}
		}
	}
	return kind, doc, req, bound
}

// entityID is the unique id of a universe entity named by ARN: a user's, or
// a role's (whatever its path).
func entityID(arn string) string {
	rest, _ := strings.CutPrefix(arn, "arn:aws:iam::")
	account, res, _ := strings.Cut(rest, ":")
	for _, c := range reftest.Callers {
		switch {
		case c.Kind == "user" && c.ARN == arn:
			return c.ID
		case c.Kind == "session" && c.Account == account && strings.HasPrefix(res, "role/") && res[strings.LastIndex(res, "/")+1:] == c.Role:
			return c.ID
		}
	}
	return ""
}

// engineRequest is the reference request as the engine takes it.
func engineRequest(r *reftest.Request) *policy.Request {
	p := policy.Principal{Type: policy.AWSPrincipal, ARN: r.Caller.ARN, Account: r.Caller.Account, ID: r.Caller.ID}
	if r.Caller.Kind == "service" {
		p = policy.Principal{Type: policy.ServicePrincipal, ARN: r.Caller.ARN}
	}
	keys := policy.Keys{}
	for _, pr := range r.Single {
		keys.SetOne(pr.Name, pr.Value)
	}
	for n, vs := range r.Multi {
		keys.Add(n, vs...)
	}
	return &policy.Request{Principal: p, Action: r.Action, Resource: r.Resource, Time: r.Time, Keys: keys}
}

// grantOf is the reference's name for how the engine's Principal matched.
func grantOf(v policy.Via) reftest.Grant {
	switch v {
	case policy.ViaIdentity:
		return reftest.GrantIdentity
	case policy.ViaAccount:
		return reftest.GrantAccount
	case policy.ViaRole:
		return reftest.GrantRole
	case policy.ViaNotPrincipal, policy.ViaAnyone, policy.ViaPrincipal:
		return reftest.GrantDirect
	}
	return reftest.GrantNone
}

var effects = map[policy.Decision]reftest.Effect{policy.NotApplicable: reftest.NotApplicable, policy.Allow: reftest.Allow, policy.ExplicitDeny: reftest.Deny}

// compareOne decides one case both ways and describes any disagreement.
func compareOne(kind string, doc []byte, req *reftest.Request, bound map[string]string) string {
	k := policy.IdentityKind
	if kind == reftest.ResourcePolicy {
		k = policy.ResourceKind
	}
	p, err := policy.Compile(doc, policy.Options{Kind: k, Bound: bound != nil, Bindings: bound})
	if err != nil {
		return fmt.Sprintf("the engine refuses a generated policy: %v\n%s", err, doc)
	}
	ref, err := reftest.Parse(doc)
	if err != nil {
		return fmt.Sprintf("reftest cannot read a generated policy: %v\n%s", err, doc)
	}
	ref.Bound, ref.Bindings = bound != nil, bound
	want := ref.Evaluate(req)
	got := p.Decide(engineRequest(req))
	switch {
	case effects[got.Decision] != want.Effect:
	case want.Effect == reftest.Allow && grantOf(got.Via) != want.Grant:
	case want.Effect != reftest.NotApplicable && !slices.Contains(want.Statements, got.Statement):
	default:
		return ""
	}
	return fmt.Sprintf("engine %v (via %v, statement %d), reference %v (grant %v, statements %v)\npolicy (%s, bindings %v): %s\nrequest: %+v",
		got.Decision, got.Via, got.Statement, want.Effect, want.Grant, want.Statements, kind, bound, doc, *req)
}
