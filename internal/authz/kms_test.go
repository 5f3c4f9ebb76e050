package authz

import (
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/policy"
)

const (
	aliceID   = "AIDAALICE1111111111"
	appID     = "AROAAPP111111111111"
	keyAcct   = "111122223333"
	otherAcct = "444455556666"
	keyARN    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func mustPolicy(t *testing.T, kind policy.Kind, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Compile([]byte(doc), policy.Options{Kind: kind})
	if err != nil {
		t.Fatalf("compile %s: %v", doc, err)
	}
	return p
}

func TestDecideKey(t *testing.T) {
	keyPol := func(stmts string) string { return `{"Version":"2012-10-17","Statement":[` + stmts + `]}` }
	delegate := func(acct string) string {
		return `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"}`
	}
	allowIAM := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`
	denyIAM := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}`
	alice := func(acct string) *Identity {
		return &Identity{Principal: Principal{Account: acct, ARN: "arn:aws:iam::" + acct + ":user/alice", Type: UserType, UserID: aliceID}}
	}
	root := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::" + keyAcct + ":root", Type: RootType}}
	session := func(withPolicy bool) *Identity {
		id := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:sts::" + keyAcct + ":assumed-role/app/s1", Type: AssumedRoleType, UserID: appID + ":s1"},
			RoleARN: "arn:aws:iam::" + keyAcct + ":role/app", Temporary: true}
		if withPolicy {
			id.HasSessionPolicy = true
			id.SessionPolicies = []*policy.Policy{mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)}
		}
		return id
	}
	withIAM := func(id *Identity, docs ...string) *Identity {
		for _, d := range docs {
			id.Policies = append(id.Policies, mustPolicy(t, policy.IdentityKind, d))
		}
		return id
	}
	tests := []struct {
		name      string
		rule      string // the KMS Developer Guide rule it checks
		id        *Identity
		keyPolicy string
		grants    []*Grant
		ec        map[string]string
		want      Reason
		by        string
	}{
		{name: "default policy, no IAM policy", rule: "policy-evaluation.md Example 1", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)), want: NoIdentityAllow},
		{name: "default policy, IAM allows", rule: "key-policy-default.md: allows IAM policies", id: withIAM(alice(keyAcct), allowIAM), keyPolicy: keyPol(delegate(keyAcct)), by: "iam"},
		{name: "root through the default policy", rule: "key-policy-default.md", id: root, keyPolicy: keyPol(delegate(keyAcct)), by: "iam"},
		{name: "no delegation: IAM allow has no effect", rule: "iam-policies.md: IAM policies alone are not sufficient", id: withIAM(alice(keyAcct), allowIAM),
			keyPolicy: keyPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}`), want: NoResourceAllow},
		{name: "root without delegation is denied", rule: "key-policy-default.md: the lockout", id: root,
			keyPolicy: keyPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}`), want: NoResourceAllow},
		{name: "key policy names the user", rule: "key-policy-overview.md: key policy alone suffices", id: alice(keyAcct),
			keyPolicy: keyPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Encrypt","Resource":"*"}`), by: "key-policy"},
		{name: "explicit deny in key policy beats IAM allow", rule: "policy-evaluation.md: explicit deny", id: withIAM(alice(keyAcct), allowIAM),
			keyPolicy: keyPol(delegate(keyAcct) + `,{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`), want: ExplicitResourceDeny},
		{name: "explicit deny in IAM beats key policy allow", rule: "policy-evaluation.md: explicit deny", id: withIAM(alice(keyAcct), denyIAM),
			keyPolicy: keyPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}`), want: ExplicitIdentityDeny},
		{name: "cross-account: key policy and IAM", rule: "key-policy-modifying-external-accounts.md", id: withIAM(alice(otherAcct), allowIAM),
			keyPolicy: keyPol(delegate(keyAcct) + `,` + delegate(otherAcct)), by: "iam"},
		{name: "cross-account: key policy without IAM", rule: "key-policy-modifying-external-accounts.md: both are required", id: alice(otherAcct),
			keyPolicy: keyPol(delegate(keyAcct) + `,` + delegate(otherAcct)), want: NoIdentityAllow},
		{name: "cross-account: key policy naming the user still needs IAM", rule: "key-policy-modifying-external-accounts.md", id: alice(otherAcct),
			keyPolicy: keyPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/alice"},"Action":"kms:*","Resource":"*"}`), want: NoIdentityAllow},
		{name: "cross-account: IAM without key policy", rule: "key-policy-modifying-external-accounts.md", id: withIAM(alice(otherAcct), allowIAM),
			keyPolicy: keyPol(delegate(keyAcct)), want: NoResourceAllow},
		{name: "session policy narrows a role session", rule: "IAM evaluation logic: session policies", id: withIAM(session(true), allowIAM),
			keyPolicy: keyPol(delegate(keyAcct)), want: NoSessionAllow},
		{name: "grant allows the grantee", rule: "grants.md", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)),
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", GranteeID: aliceID, Operations: []string{"Encrypt"}}}, by: "grant"},
		{name: "grant for another operation", rule: "grants.md: grant operations", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)),
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", GranteeID: aliceID, Operations: []string{"Decrypt"}}}, want: NoIdentityAllow},
		{name: "grant to a role covers its sessions", rule: "grants.md: grantee principal", id: session(false), keyPolicy: keyPol(delegate(keyAcct)),
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:role/app", GranteeID: appID, Operations: []string{"Encrypt"}}}, by: "grant"},
		{name: "grant to a deleted and recreated user", rule: "IAM User Guide, Principal element, \"IAM user principals\": a recreated user has a new principal ID", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)),
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", GranteeID: "AIDAOLDALICE0000000", Operations: []string{"Encrypt"}}}, want: NoIdentityAllow},
		{name: "grant to a deleted and recreated role", rule: "IAM User Guide, Principal element, \"IAM role principals\": the new role has a new principal ID", id: session(false), keyPolicy: keyPol(delegate(keyAcct)),
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:role/app", GranteeID: "AROAOLDAPP000000000", Operations: []string{"Encrypt"}}}, want: NoIdentityAllow},
		{name: "grant to a user that did not exist when granted", rule: "IAM User Guide, Principal element: a principal bound to no entity matches no one", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)),
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", Operations: []string{"Encrypt"}}}, want: NoIdentityAllow},
		{name: "grant constraint EncryptionContextSubset met", rule: "grants.md: grant constraints", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)),
			ec:     map[string]string{"tenant": "a", "extra": "x"},
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", GranteeID: aliceID, Operations: []string{"Encrypt"}, ContextSubset: map[string]string{"tenant": "a"}}}, by: "grant"},
		{name: "grant constraint EncryptionContextEquals not met", rule: "grants.md: grant constraints", id: alice(keyAcct), keyPolicy: keyPol(delegate(keyAcct)),
			ec:     map[string]string{"tenant": "a", "extra": "x"},
			grants: []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", GranteeID: aliceID, Operations: []string{"Encrypt"}, ContextEquals: map[string]string{"tenant": "a"}}}, want: NoIdentityAllow},
		{name: "explicit deny beats a grant", rule: "grants.md: a deny in a key policy overrides grants", id: alice(keyAcct),
			keyPolicy: keyPol(delegate(keyAcct) + `,{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}`),
			grants:    []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::111122223333:user/alice", GranteeID: aliceID, Operations: []string{"Encrypt"}}}, want: ExplicitResourceDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &KeyRequest{
				Identity: tt.id, Action: "kms:Encrypt", Operation: "Encrypt", KeyARN: keyARN, KeyAccount: keyAcct,
				KeyPolicy: mustPolicy(t, policy.ResourceKind, tt.keyPolicy), Grants: tt.grants, EncryptionContext: tt.ec,
				Keys: GlobalKeys(tt.id, Request{Time: time.Unix(1.7e9, 0)}), Request: Request{Time: time.Unix(1.7e9, 0)},
			}
			got := DecideKey(r)
			if got.Reason != tt.want || got.By.String() != tt.by {
				t.Fatalf("%s: DecideKey = reason %v by %q, want reason %v by %q", tt.rule, got.Reason, got.By.String(), tt.want, tt.by)
			}
		})
	}
}

func TestDenyMessages(t *testing.T) {
	caller := "arn:aws:iam::111122223333:user/alice"
	for r, want := range map[Reason]string{
		NoResourceAllow:      "User: " + caller + " is not authorized to perform: kms:Decrypt on resource: " + keyARN + " because no resource-based policy allows the kms:Decrypt action",
		NoIdentityAllow:      "User: " + caller + " is not authorized to perform: kms:Decrypt on resource: " + keyARN + " because no identity-based policy allows the kms:Decrypt action",
		ExplicitResourceDeny: "User: " + caller + " is not authorized to perform: kms:Decrypt on resource: " + keyARN + " with an explicit deny in a resource-based policy",
	} {
		if got := r.Message(caller, "kms:Decrypt", keyARN); got != want {
			t.Errorf("Message(%v) = %q\nwant %q", r, got, want)
		}
	}
}

// Service control policies limit every principal of a member account: each
// must allow, and an explicit deny in one wins (IAM User Guide, policy
// evaluation logic).
func TestServiceControlPolicies(t *testing.T) {
	allowAll := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	denyDecrypt := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`)
	onlyIAM := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	keyPolicy := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`)
	for _, tt := range []struct {
		name   string
		scps   []*policy.Policy
		action string
		want   Reason
	}{
		{"no SCPs", nil, "kms:Decrypt", Allowed},
		{"SCPs allow", []*policy.Policy{allowAll, allowAll}, "kms:Decrypt", Allowed},
		{"an SCP denies", []*policy.Policy{allowAll, denyDecrypt}, "kms:Decrypt", ExplicitSCPDeny},
		{"a level does not allow", []*policy.Policy{allowAll, onlyIAM}, "kms:Encrypt", NoSCPAllow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:root", Type: RootType}, SCPs: levelsOf(tt.scps...)}
			d := DecideKey(&KeyRequest{Identity: root, Action: tt.action, Operation: tt.action[4:], KeyARN: keyARN, KeyAccount: keyAcct, KeyPolicy: keyPolicy, Keys: root.Keys()})
			if d.Reason != tt.want {
				t.Fatalf("DecideKey = %v, want %v", d.Reason, tt.want)
			}
		})
	}
	if got := ExplicitSCPDeny.Message("arn:aws:iam::111122223333:root", "kms:Decrypt", keyARN); !strings.HasSuffix(got, "with an explicit deny in a service control policy") {
		t.Fatalf("message = %q", got)
	}
}

// Principal tags whose keys differ only in case are one condition key
// (IAM User Guide, reference_policies_elements_condition.md: key names are
// not case-sensitive); the decision must not depend on map order: a Deny
// fires if either value makes it fire, an Allow needs both (issue 9, hole 8).
func TestPrincipalTagsDifferingInCase(t *testing.T) {
	deny := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Encrypt","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"admin"}}}]}`)
	allow := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"dev"}}}]}`)
	for i := 0; i < 30; i++ {
		for _, kp := range []*policy.Policy{deny, allow} {
			id := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:user/alice", Type: UserType},
				Tags: map[string]string{"Team": "admin", "team": "dev"}}
			d := DecideKey(&KeyRequest{Identity: id, Action: "kms:Encrypt", Operation: "Encrypt", KeyARN: keyARN, KeyAccount: keyAcct,
				KeyPolicy: kp, More: []policy.Keys{id.Keys()}})
			if d.Allowed() {
				t.Fatalf("run %d: tags Team=admin, team=dev allowed (%+v); want denied", i, d)
			}
		}
	}
}

// Grant constraints (GrantConstraints in the KMS API Reference;
// create-grant-overview.md, "Using grant constraints").
func TestGrantConstraints(t *testing.T) {
	alice := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:user/alice", Type: UserType, UserID: aliceID}}
	ops := []string{"Encrypt", "Decrypt", "DescribeKey", "RetireGrant", "CreateGrant", "GenerateDataKey"}
	subset := &Grant{GranteePrincipal: alice.ARN, GranteeID: aliceID, Operations: ops, ContextSubset: map[string]string{"Department": "IT"}}
	equals := &Grant{GranteePrincipal: alice.ARN, GranteeID: aliceID, Operations: ops, ContextEquals: map[string]string{"Department": "IT"}}
	empty := &Grant{GranteePrincipal: alice.ARN, GranteeID: aliceID, Operations: ops, ContextEquals: map[string]string{}}
	source := &Grant{GranteePrincipal: alice.ARN, GranteeID: aliceID, Operations: ops, SourceArn: "arn:aws:sqs:us-east-1:111122223333:q"}
	tests := []struct {
		rule   string
		g      *Grant
		op     string
		ec     map[string]string
		source string
		want   bool
	}{
		{"Subset: the request includes the pair", subset, "Decrypt", map[string]string{"Department": "IT", "Purpose": "Test"}, "", true},
		{"Subset: the pair is missing", subset, "Decrypt", map[string]string{"Purpose": "Test"}, "", false},
		{"Subset: the value differs in case (values are case sensitive)", subset, "Decrypt", map[string]string{"Department": "it"}, "", false},
		{"Subset: the key differs in case (keys are not case sensitive in a grant constraint)", subset, "Decrypt", map[string]string{"department": "IT"}, "", true},
		{"Subset: keys that differ only in case with another value fail closed", subset, "Decrypt", map[string]string{"department": "IT", "DEPARTMENT": "HR"}, "", false},
		{"Subset: keys that differ only in case with the same value", subset, "Decrypt", map[string]string{"department": "IT", "DEPARTMENT": "IT"}, "", true},
		{"Equals: exactly the pair", equals, "Encrypt", map[string]string{"Department": "IT"}, "", true},
		{"Equals: an extra pair", equals, "Encrypt", map[string]string{"Department": "IT", "Purpose": "Test"}, "", false},
		{"Equals: the key differs in case", equals, "Encrypt", map[string]string{"DEPARTMENT": "IT"}, "", true},
		{"Equals: keys that differ only in case with another value fail closed", equals, "Encrypt", map[string]string{"department": "IT", "DEPARTMENT": "HR"}, "", false},
		{"Equals {}: only the empty context", empty, "Encrypt", nil, "", true},
		{"Equals {}: any pair fails", empty, "Encrypt", map[string]string{"a": "b"}, "", false},
		{"ignored for DescribeKey", equals, "DescribeKey", nil, "", true},
		{"ignored for RetireGrant", subset, "RetireGrant", nil, "", true},
		{"CreateGrant: bounds the child grant, not the request", subset, "CreateGrant", nil, "", true},
		{"SourceArn: the request is on behalf of the resource", source, "Decrypt", nil, "arn:aws:sqs:us-east-1:111122223333:q", true},
		{"SourceArn: on behalf of another resource", source, "Decrypt", nil, "arn:aws:sqs:us-east-1:111122223333:other", false},
		{"SourceArn: on behalf of no resource", source, "Decrypt", nil, "", false},
		{"SourceArn: applies to DescribeKey", source, "DescribeKey", nil, "", false},
		{"SourceArn: does not apply to RetireGrant", source, "RetireGrant", nil, "", true},
	}
	for _, tt := range tests {
		r := &KeyRequest{Identity: alice, Operation: tt.op, EncryptionContext: tt.ec, Request: Request{SourceARN: tt.source}}
		for i := 0; i < 20; i++ { // the contexts are maps: the answer must not depend on their order
			if got := tt.g.AllowsRequest(r); got != tt.want {
				t.Fatalf("%s: %s with %v from %q = %v, want %v", tt.rule, tt.op, tt.ec, tt.source, got, tt.want)
			}
		}
	}
}
