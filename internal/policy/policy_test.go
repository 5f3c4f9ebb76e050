package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const acct = "111122223333"

func awsCaller(arn string) Principal {
	a := acct
	if p, ok := splitARN(arn); ok {
		a = p.account
	}
	return Principal{Type: AWSPrincipal, ARN: arn, Account: a}
}

func mustCompile(t *testing.T, doc string, o Options) *Policy {
	t.Helper()
	p, err := Compile([]byte(doc), o)
	if err != nil {
		var ve *ValidationError
		errors.As(err, &ve)
		t.Fatalf("Compile: %v %v\n%s", err, ve.Findings, doc)
	}
	return p
}

func TestActionMatching(t *testing.T) {
	tests := []struct {
		name, rule, action, req string
		not                     bool
		want                    bool
	}{
		{"exact", docAction, "kms:Decrypt", "kms:Decrypt", false, true},
		{"case-insensitive", docAction + ` (action names are not case-sensitive)`, "KMS:decrypt", "kms:Decrypt", false, true},
		{"prefix wildcard", docAction + ` (wildcards)`, "kms:Generate*", "kms:GenerateDataKeyWithoutPlaintext", false, true},
		{"infix wildcard", docAction, "iam:*AccessKey*", "iam:UpdateAccessKey", false, true},
		{"question mark", docAction, "kms:?ncrypt", "kms:Encrypt", false, true},
		{"all actions", docAction, "*", "s3:GetObject", false, true},
		{"other service", docAction, "kms:*", "s3:GetObject", false, false},
		{"no partial match", docAction, "kms:Encrypt", "kms:EncryptAll", false, false},
		{"NotAction excludes", docNotAct, "kms:ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", true, false},
		{"NotAction includes others", docNotAct + ` (matches everything except)`, "iam:*", "kms:Decrypt", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := "Action"
			if tt.not {
				el = "NotAction"
			}
			p := mustCompile(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","%s":%q,"Resource":"*"}}`, el, tt.action), Options{Kind: IdentityKind})
			got := p.Decide(&Request{Principal: awsCaller("arn:aws:iam::111122223333:user/A"), Action: tt.req}).Decision == Allow
			if got != tt.want {
				t.Errorf("%s: %s %q vs %q = %v, want %v", tt.rule, el, tt.action, tt.req, got, tt.want)
			}
		})
	}
}

func TestResourceMatching(t *testing.T) {
	wild := docResource + ` "Using wildcards in resource ARNs"`
	tests := []struct {
		name, rule string
		resource   string // JSON value
		not        bool
		req        string
		keys       Keys
		want       bool
	}{
		{"star", docResource, `"*"`, false, "arn:aws:kms:us-east-1:1:key/x", nil, true},
		{"exact", docResource, `"arn:aws:kms:us-east-1:111122223333:key/k1"`, false, "arn:aws:kms:us-east-1:111122223333:key/k1", nil, true},
		{"case-sensitive", docResource, `"arn:aws:kms:us-east-1:111122223333:key/K1"`, false, "arn:aws:kms:us-east-1:111122223333:key/k1", nil, false},
		{"segment wildcard", wild, `"arn:aws:kms:*:111122223333:key/*"`, false, "arn:aws:kms:eu-west-1:111122223333:key/k1", nil, true},
		{"wildcard does not cross colon in region", wild + ` (within ARN segments)`, `"arn:aws:kms:*:*:key/*"`, false, "arn:aws:kms:eu-west-1:1:2:key/k1", nil, false},
		{"resource segment wildcard spans slashes", wild + ` (DOC-EXAMPLE-BUCKET/*/test/*)`, `"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*"`, false, "arn:aws:s3:::DOC-EXAMPLE-BUCKET/1/2/test/3/object.jpg", nil, true},
		{"resource segment empty middle", wild, `"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*"`, false, "arn:aws:s3:::DOC-EXAMPLE-BUCKET//test/object.jpg", nil, true},
		{"resource segment no match", wild + ` (would not match 1-test/object.jpg)`, `"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*"`, false, "arn:aws:s3:::DOC-EXAMPLE-BUCKET/1-test/object.jpg", nil, false},
		{"resource segment no match 2", wild + ` (would not match test/object.jpg)`, `"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*"`, false, "arn:aws:s3:::DOC-EXAMPLE-BUCKET/test/object.jpg", nil, false},
		{"resource segment may hold colons", wild, `"arn:aws:logs:us-east-1:1:log-group:*"`, false, "arn:aws:logs:us-east-1:1:log-group:a:b", nil, true},
		{"array", docResource + ` "Specifying multiple resources"`, `["arn:aws:kms:us-east-1:1:key/a","arn:aws:kms:us-east-1:1:key/b"]`, false, "arn:aws:kms:us-east-1:1:key/b", nil, true},
		{"variable", docVars + ` "Resource element"`, `"arn:aws:s3:::mybucket/${aws:username}/*"`, false, "arn:aws:s3:::mybucket/David/x", NewKeys("aws:username", "David"), true},
		{"variable other user", docVars + ` "Resource element"`, `"arn:aws:s3:::mybucket/${aws:username}/*"`, false, "arn:aws:s3:::mybucket/Eve/x", NewKeys("aws:username", "David"), false},
		{"variable with default", docVars + ` "Specifying default values"`, `"arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}"`, false, "arn:aws:s3:::DOC-EXAMPLE-BUCKET-company-wide", nil, true},
		{"unresolved variable matches nothing", docVars + ` "Policy variables with no value"`, `"arn:aws:s3:::mybucket/${aws:username}*"`, false, "arn:aws:s3:::mybucket/x", nil, false},
		{"unresolved variable in NotResource", docVars + ` "Policy variables with no value"`, `"arn:aws:s3:::mybucket/${aws:username}*"`, true, "arn:aws:s3:::mybucket/x", nil, true},
		{"NotResource excludes", docNotRes, `"arn:aws:s3:::HRBucket/Payroll*"`, true, "arn:aws:s3:::HRBucket/Payroll/x", nil, false},
		{"NotResource includes others", docNotRes, `"arn:aws:s3:::HRBucket/Payroll*"`, true, "arn:aws:s3:::HRBucket/Other", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := "Resource"
			if tt.not {
				el = "NotResource"
			}
			p := mustCompile(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","%s":%s}}`, el, tt.resource), Options{Kind: IdentityKind})
			got := p.Decide(&Request{Principal: awsCaller("arn:aws:iam::111122223333:user/A"), Action: "s3:GetObject", Resource: tt.req, Keys: tt.keys}).Decision == Allow
			if got != tt.want {
				t.Errorf("%s: %s %s vs %q = %v, want %v", tt.rule, el, tt.resource, tt.req, got, tt.want)
			}
		})
	}
}

func TestPrincipalMatching(t *testing.T) {
	acc := docPrin + ` "AWS account principals"`
	role := docPrin + ` "IAM role principals"`
	sess := docPrin + ` "Role session principals"`
	all := docPrin + ` "All principals"`
	user := "arn:aws:iam::111122223333:user/Alice"
	session := "arn:aws:sts::111122223333:assumed-role/App/s1"
	tests := []struct {
		name, rule, principal string
		caller                Principal
		want                  Via
	}{
		{"account id covers a user", acc, `{"AWS":"111122223333"}`, awsCaller(user), ViaAccount},
		{"root ARN equals account id", acc + ` (account ARN and shortened id behave the same)`, `{"AWS":"arn:aws:iam::111122223333:root"}`, awsCaller(user), ViaAccount},
		{"root ARN covers a session", acc + ` (does not limit to the root user)`, `{"AWS":"arn:aws:iam::111122223333:root"}`, awsCaller(session), ViaAccount},
		{"root ARN covers the root user", acc, `{"AWS":"111122223333"}`, awsCaller("arn:aws:iam::111122223333:root"), ViaAccount},
		{"other account", acc, `{"AWS":"444455556666"}`, awsCaller(user), ViaNone},
		{"account does not cover a service", acc, `{"AWS":"111122223333"}`, Principal{Type: ServicePrincipal, ARN: "kms.amazonaws.com"}, ViaNone},
		{"user ARN", docPrin + ` "IAM user principals"`, `{"AWS":"arn:aws:iam::111122223333:user/Alice"}`, awsCaller(user), ViaPrincipal},
		{"user name is case-sensitive", docPrin + ` "IAM user principals" (case sensitive)`, `{"AWS":"arn:aws:iam::111122223333:user/alice"}`, awsCaller(user), ViaNone},
		{"role covers its sessions", role + ` (role session principal)`, `{"AWS":"arn:aws:iam::111122223333:role/App"}`, awsCaller(session), ViaRole},
		{"role with path covers its sessions", role, `{"AWS":"arn:aws:iam::111122223333:role/team/App"}`, awsCaller(session), ViaRole},
		{"role does not cover another role's sessions", role, `{"AWS":"arn:aws:iam::111122223333:role/Other"}`, awsCaller(session), ViaNone},
		{"role in another account", role, `{"AWS":"arn:aws:iam::444455556666:role/App"}`, awsCaller(session), ViaNone},
		{"session ARN covers itself", sess + ` "Assumed-role session principals"`, `{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"}`, awsCaller(session), ViaPrincipal},
		{"session ARN does not cover another session", sess + ` (must name a specific session)`, `{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s2"}`, awsCaller(session), ViaNone},
		{"federated user", docPrin + ` "AWS STS federated user session principals"`, `{"AWS":"arn:aws:sts::111122223333:federated-user/bob"}`, awsCaller("arn:aws:sts::111122223333:federated-user/bob"), ViaPrincipal},
		{"star covers everyone", all, `"*"`, awsCaller(user), ViaAnyone},
		{"star covers anonymous", all + ` (public access)`, `"*"`, Principal{Type: AnonymousPrincipal}, ViaAnyone},
		{"AWS star is equivalent", all + ` (the following elements are equivalent)`, `{"AWS":"*"}`, Principal{Type: AnonymousPrincipal}, ViaAnyone},
		{"service principal", docPrin + ` "AWS service principals"`, `{"Service":["ecs.amazonaws.com","elasticloadbalancing.amazonaws.com"]}`, Principal{Type: ServicePrincipal, ARN: "elasticloadbalancing.amazonaws.com"}, ViaPrincipal},
		{"service principal mismatch", docPrin + ` "AWS service principals"`, `{"Service":"ecs.amazonaws.com"}`, Principal{Type: ServicePrincipal, ARN: "kms.amazonaws.com"}, ViaNone},
		{"federated provider", docPrin + ` "Web identity session principals"`, `{"Federated":"accounts.google.com"}`, Principal{Type: FederatedPrincipal, ARN: "accounts.google.com"}, ViaPrincipal},
		{"canonical user", acc + ` (CanonicalUser)`, `{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}`, Principal{Type: CanonicalUserPrincipal, ARN: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, ViaPrincipal},
		{"array is OR, best match wins", docPrin + ` "Specifying a principal" (logical OR)`, `{"AWS":["111122223333","arn:aws:iam::111122223333:user/Alice"]}`, awsCaller(user), ViaPrincipal},
		{"mixed map", acc, `{"AWS":["arn:aws:iam::123456789012:root","999999999999"],"CanonicalUser":"79a5"}`, awsCaller("arn:aws:iam::999999999999:user/x"), ViaAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":%s,"Action":"*","Resource":"*"}}`, tt.principal), Options{Kind: ResourceKind})
			out := p.Decide(&Request{Principal: tt.caller, Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:1:key/k"})
			if out.Via != tt.want || (out.Decision == Allow) != (tt.want != ViaNone) {
				t.Errorf("%s: Principal %s, caller %+v: %+v, want via %s", tt.rule, tt.principal, tt.caller, out, tt.want)
			}
		})
	}
}

func TestNotPrincipal(t *testing.T) {
	rule := docNotPrin + ` "NotPrincipal With Deny"`
	bob := `{"AWS":["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]}`
	audit := `{"AWS":["arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app","arn:aws:iam::444455556666:role/cross-account-read-only-role","arn:aws:iam::444455556666:root"]}`
	tests := []struct {
		name, np string
		caller   Principal
		denied   bool
	}{
		{"listed user with account is exempt", bob, awsCaller("arn:aws:iam::444455556666:user/Bob"), false},
		{"other user is denied", bob, awsCaller("arn:aws:iam::444455556666:user/Eve"), true},
		{"user without account listed is denied", `{"AWS":"arn:aws:iam::444455556666:user/Bob"}`, awsCaller("arn:aws:iam::444455556666:user/Bob"), true},
		{"session with role and account is exempt", audit, awsCaller("arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app"), false},
		{"other session of the role is denied", audit, awsCaller("arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/other"), true},
		{"session without role listed is denied", `{"AWS":["arn:aws:sts::444455556666:assumed-role/r/s","arn:aws:iam::444455556666:root"]}`, awsCaller("arn:aws:sts::444455556666:assumed-role/r/s"), true},
		{"root with account listed is exempt", bob, awsCaller("arn:aws:iam::444455556666:root"), false},
		{"service listed is exempt", `{"Service":"kms.amazonaws.com"}`, Principal{Type: ServicePrincipal, ARN: "kms.amazonaws.com"}, false},
		{"anonymous is denied", bob, Principal{Type: AnonymousPrincipal}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":%s,"Action":"s3:*","Resource":"*"}}`, tt.np), Options{Kind: ResourceKind})
			got := p.Decide(&Request{Principal: tt.caller, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}).Decision == ExplicitDeny
			if got != tt.denied {
				t.Errorf("%s: NotPrincipal %s, caller %s: denied = %v, want %v", rule, tt.np, tt.caller.ARN, got, tt.denied)
			}
		})
	}
}

func TestEvaluation(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
	  {"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/Alice"},"Action":"kms:Decrypt","Resource":"*"},
	  {"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"},
	  {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"kms:DescribeKey","Resource":"*"}]}`
	p := mustCompile(t, doc, Options{Kind: ResourceKind})
	ev := docEval + ` "Determining whether a request is allowed or denied within an account"`
	tests := []struct {
		name, rule, caller, action string
		want                       Outcome
		matched                    int
	}{
		{"specific principal beats account delegation", docPrin + ` "AWS account principals"`, "arn:aws:iam::111122223333:user/Alice", "kms:Decrypt", Outcome{Allow, 1, "Alice", ViaPrincipal}, 2},
		{"account delegation only", docPrin + ` "AWS account principals"`, "arn:aws:iam::111122223333:user/Bob", "kms:Decrypt", Outcome{Allow, 0, "Root", ViaAccount}, 1},
		{"explicit deny overrides allow", ev + ` (explicit deny)`, "arn:aws:iam::111122223333:user/Alice", "kms:ScheduleKeyDeletion", Outcome{ExplicitDeny, 2, "NoDelete", ViaNone}, 2},
		{"star beats account", docPrin + ` "All principals"`, "arn:aws:iam::111122223333:user/Bob", "kms:DescribeKey", Outcome{Allow, 3, "Public", ViaAnyone}, 2},
		{"nothing applies", ev + ` (implicit deny)`, "arn:aws:iam::444455556666:user/Eve", "kms:Decrypt", Outcome{NotApplicable, -1, "", ViaNone}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Principal: awsCaller(tt.caller), Action: tt.action, Resource: "arn:aws:kms:us-east-1:111122223333:key/k"}
			if got := p.Decide(r); got != tt.want {
				t.Errorf("%s: Decide = %+v, want %+v", tt.rule, got, tt.want)
			}
			var res Result
			p.Evaluate(r, &res)
			if res.Outcome != tt.want || len(res.Matched) != tt.matched {
				t.Errorf("%s: Evaluate = %+v, want %+v with %d matches", tt.rule, res, tt.want, tt.matched)
			}
			ex := p.Explain(r)
			if ex.Outcome != tt.want || len(ex.Statements) != 4 {
				t.Errorf("Explain = %+v", ex)
			}
		})
	}
	r := &Request{Principal: awsCaller("arn:aws:iam::111122223333:user/Bob"), Action: "kms:Encrypt", Resource: "k"}
	ex := p.Explain(r).String()
	for _, want := range []string{`[1] "Alice" Allow: does not apply`, "Principal: caller AWS", `Action: action "kms:Encrypt" does not match Action`, `[0] "Root" Allow: applies (via account)`} {
		if !strings.Contains(ex, want) {
			t.Errorf("Explain missing %q:\n%s", want, ex)
		}
	}
}

func TestDecideAll(t *testing.T) {
	allow := mustCompile(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`, Options{Kind: IdentityKind})
	deny := mustCompile(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}}`, Options{Kind: IdentityKind})
	r := &Request{Principal: awsCaller("arn:aws:iam::111122223333:user/A"), Action: "kms:Decrypt", Resource: "*"}
	if out, i := DecideAll([]*Policy{allow, deny}, r); out.Decision != ExplicitDeny || i != 1 {
		t.Errorf("%s (explicit deny in any policy wins): got %+v from %d", docEval, out, i)
	}
	r.Action = "kms:Encrypt"
	if out, i := DecideAll([]*Policy{deny, allow}, r); out.Decision != Allow || i != 1 || out.Via != ViaIdentity {
		t.Errorf("%s: got %+v from %d", docEval, out, i)
	}
	if out, i := DecideAll(nil, r); out.Decision != NotApplicable || i != -1 {
		t.Errorf("empty set: got %+v from %d", out, i)
	}
}

func TestNoAllocations(t *testing.T) {
	p := mustCompile(t, string(mustRead(t, "testdata/keypolicy.json")), Options{Kind: ResourceKind})
	r := benchRequest()
	var res Result
	p.Evaluate(r, &res)
	allocs := testing.AllocsPerRun(100, func() {
		p.Decide(r)
		p.Evaluate(r, &res)
	})
	if allocs != 0 {
		t.Errorf("Decide+Evaluate allocate %.1f times, want 0", allocs)
	}
}
