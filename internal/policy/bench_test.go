package policy

import (
	"os"
	"testing"
	"time"
)

// benchPolicy is the KMS default key policy statements plus conditions on
// kms:EncryptionContext:*, kms:CallerAccount, kms:ViaService and
// aws:PrincipalArn (testdata/keypolicy.json).
func benchPolicy(b *testing.B) *Policy {
	b.Helper()
	doc, err := os.ReadFile("testdata/keypolicy.json")
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(doc, Options{Kind: ResourceKind, MaxBytes: 32768, Charset: Latin1Charset})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchRequest() *Request {
	return &Request{
		Principal: Principal{Type: AWSPrincipal, ARN: "arn:aws:sts::111122223333:assumed-role/App/worker-1", Account: "111122223333"},
		Action:    "kms:Decrypt",
		Resource:  "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		Time:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Keys: NewKeys(
			"kms:EncryptionContext:Department", "IT",
			"kms:CallerAccount", "111122223333",
			"kms:ViaService", "s3.us-east-1.amazonaws.com",
			"aws:PrincipalArn", "arn:aws:iam::111122223333:role/App",
			"aws:PrincipalOrgID", "o-abc123",
		),
	}
}

func BenchmarkDecideKeyPolicyAllow(b *testing.B) {
	p := benchPolicy(b)
	r := benchRequest()
	// The caller is a session of role App and the policy names the role, not
	// the session's ARN: the grant is to the role, so session policies and the
	// role's boundary still limit it (ViaRole, not ViaPrincipal;
	// reference_policies_evaluation-logic.md, "IAM role session").
	if out := p.Decide(r); out.Decision != Allow || out.Via != ViaRole {
		b.Fatalf("Decide = %+v, want Allow via role", out)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Decide(r)
	}
}

func BenchmarkDecideKeyPolicyDeny(b *testing.B) {
	p := benchPolicy(b)
	r := benchRequest()
	r.Keys.Set("aws:PrincipalOrgID", "o-other")
	if out := p.Decide(r); out.Decision != ExplicitDeny {
		b.Fatalf("Decide = %+v, want ExplicitDeny", out)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Decide(r)
	}
}

func BenchmarkEvaluateKeyPolicy(b *testing.B) {
	p := benchPolicy(b)
	r := benchRequest()
	var res Result
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(r, &res)
	}
}

func BenchmarkCompileKeyPolicy(b *testing.B) {
	doc, err := os.ReadFile("testdata/keypolicy.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(doc, Options{Kind: ResourceKind}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWildcardHostile(b *testing.B) {
	g := compileGlobString("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", false)
	text := string(make([]byte, 0, 4096))
	for range 4096 {
		text += "a"
	}
	b.ReportAllocs()
	for b.Loop() {
		if g.match(text, nil) {
			b.Fatal("matched")
		}
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
