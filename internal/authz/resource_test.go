package authz

import (
	"testing"
	"time"

	"github.com/trentkms/trent/internal/policy"
)

// The IAM User Guide's rules for a resource-based policy combined with the
// caller's other policies (reference_policies_evaluation-logic.md,
// "Determining whether a request is allowed or denied within an account",
// "Resource-based policies"; access_policies_boundaries.md, "Evaluating
// effective permissions with boundaries"; reference_policies_evaluation-logic-cross-account.md).
func TestDecideResource(t *testing.T) {
	const (
		evalRule  = "reference_policies_evaluation-logic.md, Resource-based policies: "
		roleARN   = "arn:aws:iam::111122223333:role/admin-src"
		sessARN   = "arn:aws:sts::111122223333:assumed-role/admin-src/s1"
		userARN   = "arn:aws:iam::111122223333:user/alice"
		otherUser = "arn:aws:iam::444455556666:user/carol"
		resARN    = "arn:aws:iam::111122223333:role/target"
	)
	onlyDescribe := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]}`
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	trust := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"}]}`
	}
	compile := func(kind policy.Kind, doc string) *policy.Policy { return mustPolicy(t, kind, doc) }
	session := func() *Identity {
		return &Identity{Principal: Principal{Account: keyAcct, ARN: sessARN, Type: AssumedRoleType, UserID: "AROASRC:s1"},
			RoleARN: roleARN, Temporary: true, Policies: []*policy.Policy{compile(policy.IdentityKind, allowAll)}}
	}
	withSessionPolicy := func(id *Identity) *Identity {
		id.HasSessionPolicy = true
		id.SessionPolicies = []*policy.Policy{compile(policy.IdentityKind, onlyDescribe)}
		return id
	}
	withBoundary := func(id *Identity) *Identity {
		id.Boundary = compile(policy.IdentityKind, onlyDescribe)
		return id
	}
	user := func(acct, arn string, docs ...string) *Identity {
		id := &Identity{Principal: Principal{Account: acct, ARN: arn, Type: UserType, UserID: "AIDA" + acct}}
		for _, d := range docs {
			id.Policies = append(id.Policies, compile(policy.IdentityKind, d))
		}
		return id
	}
	assume := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	tests := []struct {
		name, rule string
		id         *Identity
		trust      string
		want       Reason
		byResource bool
	}{
		{"role ARN, session policy allows only kms:DescribeKey", evalRule + "IAM role: limited by an implicit deny in a permissions boundary or session policy",
			withSessionPolicy(session()), trust(`{"AWS":"` + roleARN + `"}`), NoSessionAllow, false},
		{"role ARN, boundary allows only kms:DescribeKey", evalRule + "IAM role: limited by an implicit deny in a permissions boundary or session policy",
			withBoundary(session()), trust(`{"AWS":"` + roleARN + `"}`), NoBoundaryAllow, false},
		{"role ARN, no limits", evalRule + "IAM role", session(), trust(`{"AWS":"` + roleARN + `"}`), Allowed, true},
		{"role ARN, identity policies do not allow", evalRule + "IAM role: only the boundary and session policy limit it",
			func() *Identity { id := session(); id.Policies = nil; return id }(), trust(`{"AWS":"` + roleARN + `"}`), Allowed, true},
		{"session ARN is not limited by the session policy", evalRule + "IAM role session: not limited by an implicit deny in an identity-based policy, a permissions boundary, or session policy",
			withBoundary(withSessionPolicy(session())), trust(`{"AWS":"` + sessARN + `"}`), Allowed, true},
		{"star is not limited by the session policy", "reference_policies_elements_principal.md, IAM role principals: boundaries and session policies do not limit permissions granted with a wildcard (*) in the Principal element",
			withSessionPolicy(session()), trust(`"*"`), Allowed, true},
		{"account delegation needs the identity policies within the session policy", evalRule + "the account principal delegates to identity-based policies; session policies step",
			withSessionPolicy(session()), trust(`{"AWS":"111122223333"}`), NoSessionAllow, false},
		{"user ARN is not limited by the user's boundary", "access_policies_boundaries.md: resource-based policies that grant permissions to an IAM user ARN are not limited by an implicit deny in an identity-based policy or permissions boundary",
			withBoundary(user(keyAcct, userARN)), trust(`{"AWS":"` + userARN + `"}`), Allowed, true},
		{"account delegation and the user's boundary", "access_policies_boundaries.md: identity-based policies within the boundary",
			withBoundary(user(keyAcct, userARN, assume)), trust(`{"AWS":"111122223333"}`), NoBoundaryAllow, false},
		{"account delegation without an identity allow", evalRule + "Identity-based policies step", user(keyAcct, userARN), trust(`{"AWS":"111122223333"}`), NoIdentityAllow, false},
		{"account delegation with an identity allow", evalRule + "Identity-based policies step", user(keyAcct, userARN, assume), trust(`{"AWS":"111122223333"}`), Allowed, false},
		{"another account's user named needs its identity policies", "reference_policies_evaluation-logic-cross-account.md: both the resource-based policy and the identity-based policy must allow",
			user("444455556666", otherUser), trust(`{"AWS":"` + otherUser + `"}`), NoIdentityAllow, false},
		{"another account's user with its identity policies", "reference_policies_evaluation-logic-cross-account.md",
			user("444455556666", otherUser, assume), trust(`{"AWS":"` + otherUser + `"}`), Allowed, false},
		{"another account's user within its boundary", "reference_policies_evaluation-logic-cross-account.md and access_policies_boundaries.md",
			withBoundary(user("444455556666", otherUser, assume)), trust(`{"AWS":"` + otherUser + `"}`), NoBoundaryAllow, false},
		{"resource policy does not name the caller", "IAM role trust policies and KMS key policies must explicitly allow access for principals",
			user(keyAcct, userARN, assume), trust(`{"AWS":"arn:aws:iam::111122223333:user/bob"}`), NoResourceAllow, false},
		{"explicit deny in the session policy", evalRule + "Deny evaluation",
			func() *Identity {
				id := session()
				id.HasSessionPolicy = true
				id.SessionPolicies = []*policy.Policy{compile(policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:*","Resource":"*"}]}`)}
				return id
			}(), trust(`{"AWS":"` + sessARN + `"}`), ExplicitSessionDeny, false},
		{"an explicit deny is reported before an SCP that does not allow", evalRule + "Deny evaluation comes before the Organizations SCPs step (policy-eval-denyallow)",
			func() *Identity {
				id := user(keyAcct, userARN, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`)
				id.SCPs = []Guardrail{{Policies: []*policy.Policy{compile(policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)}}}
				return id
			}(), trust(`{"AWS":"` + userARN + `"}`), ExplicitIdentityDeny, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &policy.Request{Principal: tt.id.PolicyPrincipal(), Action: "sts:AssumeRole", Resource: resARN, Time: time.Unix(1.7e9, 0), Keys: tt.id.Keys()}
			out := compile(policy.TrustKind, tt.trust).Decide(req)
			got := DecideResource(tt.id, req, keyAcct, out, nil)
			if got.Reason != tt.want || got.ByResource != tt.byResource {
				t.Fatalf("%s: DecideResource = %v (by resource %v), want %v (by resource %v)", tt.rule, got.Reason, got.ByResource, tt.want, tt.byResource)
			}
		})
	}
}

// DecideKey's common path stays free of allocations.
func TestDecideResourceNoAllocations(t *testing.T) {
	id := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:sts::111122223333:assumed-role/app/s1", Type: AssumedRoleType, UserID: "AROAAPP111111111111:s1"}}
	p := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:*","Resource":"*"}]}`)
	r := &KeyRequest{Identity: id, Action: "kms:Encrypt", Operation: "Encrypt", KeyARN: keyARN, KeyAccount: keyAcct, KeyPolicy: p, Keys: id.Keys()}
	if d := DecideKey(r); !d.Allowed() {
		t.Fatalf("DecideKey = %+v", d)
	}
	if n := testing.AllocsPerRun(100, func() { DecideKey(r) }); n != 0 {
		t.Fatalf("DecideKey allocates %.1f times, want 0", n)
	}
}
