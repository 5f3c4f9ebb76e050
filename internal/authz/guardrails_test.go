package authz

import (
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/policy"
)

// levelsOf makes one level of guardrails of each policy; level makes one
// of several.
func level(target string, ps ...*policy.Policy) Guardrail {
	g := Guardrail{Target: target, Policies: ps}
	for i := range ps {
		g.IDs = append(g.IDs, target+"-p"+string(rune('0'+i)))
	}
	return g
}

func levelsOf(ps ...*policy.Policy) []Guardrail {
	var out []Guardrail
	for i, p := range ps {
		out = append(out, Guardrail{Target: "level" + string(rune('0'+i)), Policies: []*policy.Policy{p}, IDs: []string{"p-" + string(rune('a'+i))}})
	}
	return out
}

// Resource control policies limit access to a member account's keys by
// anyone, the key policy's own account and other accounts alike; they never
// grant, and grants do not get around them.
func TestResourceControlPolicies(t *testing.T) {
	rcpAll := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)
	perimeter := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Sid":"Perimeter","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
		"Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-exampleorgid"},"Bool":{"aws:PrincipalIsAWSService":"false"}}}]}`)
	onlyDecrypt := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`)
	// The key policy allows everyone everything: only RCPs can limit.
	open := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`)
	outsider := &Identity{Principal: Principal{Account: "444455556666", ARN: "arn:aws:iam::444455556666:root", Type: RootType, UserID: "444455556666"}}
	insider := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:root", Type: RootType, UserID: keyAcct}}
	slr := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForX/s", Type: AssumedRoleType, UserID: "AROAX:s"},
		ServiceLinked: true, Policies: []*policy.Policy{mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)}}
	grant := &Grant{ID: "g", GranteePrincipal: "arn:aws:iam::444455556666:root", Operations: []string{"Encrypt"}}
	// RCPFullAWSAccess stays attached at every level beside the perimeter.
	fenced := []Guardrail{level("r-1", rcpAll), level("ou-1", rcpAll, perimeter)}
	for _, tt := range []struct {
		name   string
		id     *Identity
		org    string // the caller's aws:PrincipalOrgID
		rcps   []Guardrail
		action string
		want   Reason
		policy string
	}{
		{"no RCPs", outsider, "", nil, "kms:Encrypt", Allowed, ""},
		{"RCPFullAWSAccess at every level", outsider, "", levelsOf(rcpAll, rcpAll), "kms:Encrypt", Allowed, ""},
		{"a perimeter RCP denies another organization's caller", outsider, "o-otherorgid1", fenced, "kms:Encrypt", ExplicitRCPDeny, "ou-1-p1"},
		{"a perimeter RCP denies a caller in no organization", outsider, "", fenced, "kms:Encrypt", ExplicitRCPDeny, "ou-1-p1"},
		{"the perimeter lets the organization in", insider, "o-exampleorgid", fenced, "kms:Encrypt", Allowed, ""},
		{"a level whose RCPs allow nothing", insider, "o-exampleorgid", levelsOf(rcpAll, onlyDecrypt), "kms:Encrypt", NoRCPAllow, "level1"},
		{"a level with only a deny allows nothing", insider, "o-exampleorgid", levelsOf(rcpAll, perimeter), "kms:Encrypt", NoRCPAllow, "level1"},
		{"RCPs do not limit service-linked roles", slr, "", fenced, "kms:Encrypt", Allowed, ""},
		{"kms:RetireGrant is not effective in an RCP", outsider, "", fenced, "kms:RetireGrant", Allowed, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys := GlobalKeys(tt.id, Request{OrgID: tt.org})
			d := DecideKey(&KeyRequest{Identity: tt.id, Action: tt.action, Operation: tt.action[4:], KeyARN: keyARN, KeyAccount: keyAcct,
				KeyPolicy: open, RCPs: tt.rcps, Keys: keys, Grants: []*Grant{grant}, Request: Request{OrgID: tt.org}})
			if d.Reason != tt.want || d.Policy != tt.policy {
				t.Fatalf("DecideKey = %v (policy %q, by %s), want %v (policy %q)", d.Reason, d.Policy, d.By, tt.want, tt.policy)
			}
		})
	}
	// A grant allows nothing an RCP denies.
	noPolicy := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`)
	outsiderWithGrant := &Identity{Principal: outsider.Principal, Policies: []*policy.Policy{mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)}}
	r := &KeyRequest{Identity: outsiderWithGrant, Action: "kms:Encrypt", Operation: "Encrypt", KeyARN: keyARN, KeyAccount: keyAcct, KeyPolicy: noPolicy,
		Grants: []*Grant{grant}, Keys: GlobalKeys(outsiderWithGrant, Request{})}
	if d := DecideKey(r); !d.Allowed() || d.By != ByGrant {
		t.Fatalf("the grant without RCPs: %+v", d)
	}
	r.RCPs = fenced
	if d := DecideKey(r); d.Reason != ExplicitRCPDeny {
		t.Fatalf("the grant under a perimeter RCP: %+v, want an explicit deny in a resource control policy", d)
	}
	for r, want := range map[Reason]string{
		ExplicitRCPDeny: "with an explicit deny in a resource control policy",
		NoRCPAllow:      "because no resource control policy allows the kms:Encrypt action",
	} {
		if got := r.Message("arn:aws:iam::444455556666:root", "kms:Encrypt", keyARN); !strings.HasSuffix(got, want) {
			t.Fatalf("message = %q, want it to end %q", got, want)
		}
	}
}

// Every level must allow: several policies at one level are a union (any
// allows, any denies), levels an intersection; an explicit deny at any level
// is reported before a level that allows nothing, and before the implicit
// denies of other policies (reference_policies_evaluation-logic.md: deny
// evaluation first).
func TestGuardrailLevels(t *testing.T) {
	allowAll := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	onlyIAM := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	onlyKMS := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	denyEncrypt := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Sid":"NoEncrypt","Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}]}`)
	user := func(scps []Guardrail) *Identity {
		return &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:user/u", Type: UserType, UserID: "AIDAU"}, Policies: []*policy.Policy{allowAll}, SCPs: scps}
	}
	for _, tt := range []struct {
		name   string
		scps   []Guardrail
		want   Reason
		policy string
	}{
		{"a union at one level", []Guardrail{{Target: "r-1", Policies: []*policy.Policy{onlyIAM, onlyKMS}, IDs: []string{"p-iam", "p-kms"}}}, Allowed, ""},
		{"an intersection across levels", []Guardrail{{Target: "r-1", Policies: []*policy.Policy{onlyKMS}}, {Target: "ou-1", Policies: []*policy.Policy{onlyIAM}}}, NoSCPAllow, "ou-1"},
		{"a deny below a level that allows nothing", []Guardrail{{Target: "r-1", Policies: []*policy.Policy{onlyIAM}}, {Target: "111122223333", Policies: []*policy.Policy{allowAll, denyEncrypt}, IDs: []string{"p-full", "p-deny"}}}, ExplicitSCPDeny, "p-deny"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := user(tt.scps)
			r := &policy.Request{Principal: id.PolicyPrincipal(), Action: "kms:Encrypt", Resource: keyARN, Keys: id.Keys()}
			if d := IdentityBased(id, r); d.Reason != tt.want || d.Policy != tt.policy {
				t.Fatalf("IdentityBased = %v (policy %q), want %v (%q)", d.Reason, d.Policy, tt.want, tt.policy)
			}
		})
	}
	// An identity policy's explicit deny is reported before an SCP level
	// that allows nothing.
	id := user([]Guardrail{{Target: "r-1", Policies: []*policy.Policy{onlyIAM}}})
	id.Policies = append(id.Policies, denyEncrypt)
	r := &policy.Request{Principal: id.PolicyPrincipal(), Action: "kms:Encrypt", Resource: keyARN, Keys: id.Keys()}
	if d := IdentityBased(id, r); d.Reason != ExplicitIdentityDeny || d.Sid != "NoEncrypt" {
		t.Fatalf("IdentityBased = %+v, want the identity policy's explicit deny", d)
	}
}

// Deciding with SCPs and RCPs allocates nothing.
func TestGuardrailsNoAllocations(t *testing.T) {
	rcpAll := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)
	scpAll := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	kp := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`)
	root := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:root", Type: RootType, UserID: keyAcct}, SCPs: levelsOf(scpAll, scpAll, scpAll)}
	r := &KeyRequest{Identity: root, Action: "kms:Decrypt", Operation: "Decrypt", KeyARN: keyARN, KeyAccount: keyAcct, KeyPolicy: kp, RCPs: levelsOf(rcpAll, rcpAll), Keys: root.Keys()}
	if n := testing.AllocsPerRun(100, func() {
		if !DecideKey(r).Allowed() {
			t.Fatal("denied")
		}
	}); n != 0 {
		t.Fatalf("DecideKey with guardrails allocates %v times", n)
	}
}

// An explanation names the SCP or RCP statement that decided, and lists
// every level's policies.
func TestExplainGuardrails(t *testing.T) {
	rcpAll := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)
	perimeter := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Sid":"Perimeter","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-exampleorgid"}}}]}`)
	scpAll := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	onlyIAM := mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	open := mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`)
	outsider := &Identity{Principal: Principal{Account: "444455556666", ARN: "arn:aws:iam::444455556666:root", Type: RootType, UserID: "444455556666"}}
	x := ExplainKey(&KeyRequest{Identity: outsider, Action: "kms:Decrypt", Operation: "Decrypt", KeyARN: keyARN, KeyAccount: keyAcct, KeyPolicy: open,
		RCPs: []Guardrail{level("r-ab12", rcpAll), level("111122223333", rcpAll, perimeter)}, Keys: outsider.Keys()})
	out := x.String()
	for _, want := range []string{
		"with an explicit deny in a resource control policy",
		`denied by RCP 111122223333-p1, statement 0 "Perimeter"`,
		"RCP r-ab12-p0 at r-ab12: Allow",
		"RCP 111122223333-p1 at 111122223333: ExplicitDeny",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	member := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:root", Type: RootType, UserID: keyAcct},
		SCPs: []Guardrail{level("r-ab12", scpAll), level("ou-ab12-11111111", onlyIAM)}}
	x = ExplainKey(&KeyRequest{Identity: member, Action: "kms:Decrypt", Operation: "Decrypt", KeyARN: keyARN, KeyAccount: keyAcct, KeyPolicy: open, Keys: member.Keys()})
	if out := x.String(); !strings.Contains(out, "no SCP attached to ou-ab12-11111111 allows it") || !strings.Contains(out, "SCP ou-ab12-11111111-p0 at ou-ab12-11111111: NotApplicable") {
		t.Errorf("explanation of a level that allows nothing:\n%s", out)
	}
}
