package authz

import (
	"slices"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/policy"
)

// analyze runs AnalyzeKey on a key of keyAcct (organization o-exampleorgid
// when inOrg) with the usual candidates: the account's root, alice (IAM
// allows kms:Decrypt), bob (no policies), any principal of the account, of
// another account of the organization, of account 444455556666 (named in
// some policies), and of another account.
func analyze(t *testing.T, keyPolicy string, inOrg bool, grants []*Grant, rcps []Guardrail, actions ...string) Analysis {
	t.Helper()
	kp := mustPolicy(t, policy.ResourceKind, keyPolicy)
	org, path := "", ""
	if inOrg {
		org, path = "o-exampleorgid", "o-exampleorgid/r-ab12/"
	}
	alice := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:user/alice", Type: UserType, UserID: "AIDAALICE", Name: "alice"},
		Policies: []*policy.Policy{mustPolicy(t, policy.IdentityKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)}}
	bob := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:user/bob", Type: UserType, UserID: "AIDABOB", Name: "bob"}}
	root := &Identity{Principal: Principal{Account: keyAcct, ARN: "arn:aws:iam::111122223333:root", Type: RootType, UserID: keyAcct}}
	own := Request{OrgID: org}
	cands := []Candidate{
		{Identity: root, Label: root.ARN, Kind: "principal", Request: own},
		{Identity: alice, Label: alice.ARN, Kind: "principal", Request: own},
		{Identity: bob, Label: bob.ARN, Kind: "principal", Request: own},
		{Identity: AccountStandIn(keyAcct, path, nil), Label: "any principal of account 111122223333", Kind: "account", Request: own},
		{Identity: AccountStandIn("444455556666", "", nil), Label: "any principal of account 444455556666", Kind: "account"},
		{Identity: AccountStandIn("000000000000", "", nil), Label: "any principal of another account", Kind: "other"},
	}
	if inOrg {
		cands = append(cands, Candidate{Identity: AccountStandIn("000000000001", path, nil), Label: "any principal of another account of o-exampleorgid", Kind: "other", Request: Request{OrgID: org}})
	}
	if len(actions) == 0 {
		actions = []string{"kms:Decrypt"}
	}
	return AnalyzeKey(keyARN, keyAcct, org, kp, actions, cands, func(c Candidate, action string) *KeyRequest {
		return &KeyRequest{Identity: c.Identity, Action: action, Operation: strings.TrimPrefix(action, "kms:"), KeyARN: keyARN, KeyAccount: keyAcct,
			KeyPolicy: kp, Grants: grants, RCPs: rcps, Keys: GlobalKeys(c.Identity, c.Request), Request: c.Request}
	})
}

// who lists the principals with access to the first action: label, how,
// and "?" for conditional access.
func who(a Analysis) []string {
	var out []string
	for _, x := range a.Actions[0].Access {
		s := x.Principal + " " + x.By
		if x.Conditional {
			s += "?"
		}
		out = append(out, s)
	}
	return out
}

func findings(a Analysis) []string {
	var out []string
	for _, f := range a.Findings {
		out = append(out, f.Type+" "+f.Principal)
	}
	return out
}

func TestAnalyzeKey(t *testing.T) {
	const defaultPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	for _, tt := range []struct {
		name      string
		policy    string
		inOrg     bool
		grants    []*Grant
		rcps      []Guardrail
		who       []string
		findings  []string
		statement int // of the first finding
	}{
		{name: "the default key policy: the account's principals whose IAM policies allow",
			policy: defaultPolicy,
			who:    []string{"arn:aws:iam::111122223333:root iam", "arn:aws:iam::111122223333:user/alice iam", "any principal of account 111122223333 iam"}},
		{name: "another account named in the key policy",
			policy: `{"Version":"2012-10-17","Statement":[` + strings.TrimPrefix(strings.TrimSuffix(defaultPolicy, "]}"), `{"Version":"2012-10-17","Statement":[`) +
				`,{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:Decrypt","Resource":"*"}]}`,
			who:      []string{"arn:aws:iam::111122223333:root iam", "arn:aws:iam::111122223333:user/alice iam", "any principal of account 111122223333 iam", "any principal of account 444455556666 iam"},
			findings: []string{"AccessFromOutsideOrganization any principal of account 444455556666"}, statement: 1},
		{name: "a public statement",
			policy:   `{"Version":"2012-10-17","Statement":[{"Sid":"Anyone","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`,
			who:      []string{"arn:aws:iam::111122223333:root key-policy", "arn:aws:iam::111122223333:user/alice key-policy", "arn:aws:iam::111122223333:user/bob key-policy", "any principal of account 111122223333 key-policy", "any principal of account 444455556666 iam", "any principal of another account iam"},
			findings: []string{"PublicStatement *", "AccessFromOutsideOrganization any principal of account 444455556666", "AccessFromOutsideOrganization any principal of another account"}},
		{name: "a public statement confined to the organization",
			policy: `{"Version":"2012-10-17","Statement":[{"Sid":"Org","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-exampleorgid"}}}]}`,
			inOrg:  true,
			who: []string{"arn:aws:iam::111122223333:root key-policy", "arn:aws:iam::111122223333:user/alice key-policy", "arn:aws:iam::111122223333:user/bob key-policy", "any principal of account 111122223333 key-policy",
				"any principal of another account of o-exampleorgid iam"},
			findings: []string{"AccessFromOutsideAccount any principal of another account of o-exampleorgid"}},
		{name: "a public statement whose condition does not confine it",
			policy:   `{"Version":"2012-10-17","Statement":[{"Sid":"Tenant","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"acme"}}}]}`,
			who:      []string{"arn:aws:iam::111122223333:root key-policy?", "arn:aws:iam::111122223333:user/alice key-policy?", "arn:aws:iam::111122223333:user/bob key-policy?", "any principal of account 111122223333 key-policy?", "any principal of account 444455556666 iam?", "any principal of another account iam?"},
			findings: []string{"PublicStatement *", "AccessFromOutsideOrganization any principal of account 444455556666", "AccessFromOutsideOrganization any principal of another account"}},
		{name: "a public statement an RCP confines",
			policy: `{"Version":"2012-10-17","Statement":[{"Sid":"Anyone","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`,
			inOrg:  true,
			rcps: []Guardrail{level("r-ab12", mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`),
				mustPolicy(t, policy.ResourceKind, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-exampleorgid"}}}]}`))},
			who: []string{"arn:aws:iam::111122223333:root key-policy", "arn:aws:iam::111122223333:user/alice key-policy", "arn:aws:iam::111122223333:user/bob key-policy", "any principal of account 111122223333 key-policy",
				"any principal of another account of o-exampleorgid iam"},
			findings: []string{"PublicStatement *", "AccessFromOutsideAccount any principal of another account of o-exampleorgid"}},
		{name: "grants to another account's principal, one constrained",
			policy:   defaultPolicy,
			grants:   []*Grant{{ID: "g2", GranteePrincipal: "arn:aws:iam::000000000000:user/any-principal", GranteeID: "AIDAANYPRINCIPAL000000000000", Operations: []string{"Decrypt"}, ContextSubset: map[string]string{"tenant": "acme"}, HasConstraints: true}},
			who:      []string{"arn:aws:iam::111122223333:root iam", "arn:aws:iam::111122223333:user/alice iam", "any principal of account 111122223333 iam", "any principal of another account grant?"},
			findings: []string{"AccessFromOutsideOrganization any principal of another account"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := analyze(t, tt.policy, tt.inOrg, tt.grants, tt.rcps)
			if got := who(a); !slices.Equal(got, tt.who) {
				t.Errorf("who can decrypt:\n got %q\nwant %q", got, tt.who)
			}
			if got := findings(a); !slices.Equal(got, tt.findings) {
				t.Errorf("findings:\n got %q\nwant %q\n%s", got, tt.findings, a)
			}
			if tt.statement != 0 && a.Findings[0].Statement != tt.statement {
				t.Errorf("first finding's statement = %d, want %d", a.Findings[0].Statement, tt.statement)
			}
		})
	}
}

// A grant of a principal of another account with no key policy statement for
// it is named in its finding; each action is listed.
func TestAnalyzeKeyGrantFinding(t *testing.T) {
	const defaultPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	a := analyze(t, defaultPolicy, false, []*Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::444455556666:user/any-principal", GranteeID: "AIDAANYPRINCIPAL444455556666", Operations: []string{"Decrypt", "Encrypt"}}}, nil,
		"kms:Encrypt", "kms:Decrypt", "kms:ScheduleKeyDeletion")
	if len(a.Findings) != 1 || a.Findings[0].GrantID != "g1" || !slices.Equal(a.Findings[0].Actions, []string{"kms:Encrypt", "kms:Decrypt"}) ||
		!strings.Contains(a.Findings[0].Detail, "grant g1") {
		t.Fatalf("findings = %+v", a.Findings)
	}
	if out := a.String(); !strings.Contains(out, "kms:ScheduleKeyDeletion:") || !strings.Contains(out, "any principal of account 444455556666 (account): grant g1 [outside the organization]") {
		t.Fatalf("report:\n%s", out)
	}
}
