package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no document makes the parser, validator or compiler
// panic, and that parse→marshal→parse is stable: the second marshal equals the
// first, and a compiled policy marshals to the same bytes.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["111122223333"]},"NotAction":"s3:*","NotResource":"arn:aws:s3:::b/${aws:username}","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]}}}}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"a:b":"true"},"IpAddress":{"aws:SourceIp":["::1","10.0.0.0/8"]},"DateLessThan":{"aws:CurrentTime":"1700000000"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []Kind{AnyKind, IdentityKind, ResourceKind, TrustKind, EndpointKind} {
			o := Options{Kind: k, MaxBytes: 32768, Charset: Latin1Charset}
			fs := Validate(data, o)
			p, err := Compile(data, o)
			if (err == nil) == hasError(fs) {
				t.Fatalf("Compile error %v disagrees with findings %v", err, fs)
			}
			if p != nil {
				// Evaluation must not panic whatever the policy says.
				p.Explain(&Request{Principal: Principal{Type: AWSPrincipal, ARN: "arn:aws:iam::111122223333:user/A", Account: "111122223333"},
					Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k",
					Keys: NewKeys("aws:username", "A", "aws:SourceIp", "10.1.2.3", "aws:TagKeys", "a")})
			}
		}
		n, err := parseJSON(data)
		if err != nil {
			return
		}
		var b1 bytes.Buffer
		n.marshal(&b1)
		n2, err := parseJSON(b1.Bytes())
		if err != nil {
			t.Fatalf("marshal produced unparseable %q: %v", b1.Bytes(), err)
		}
		var b2 bytes.Buffer
		n2.marshal(&b2)
		if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("round trip unstable:\n%s\n%s", b1.Bytes(), b2.Bytes())
		}
		if p, err := Compile(data, Options{}); err == nil {
			out, _ := p.MarshalJSON()
			if !bytes.Equal(out, b1.Bytes()) {
				t.Fatalf("Policy.MarshalJSON = %s, want %s", out, b1.Bytes())
			}
			p2, err := Compile(out, Options{})
			if err != nil || p2.Len() != p.Len() || p2.Version() != p.Version() || p2.ID() != p.ID() {
				t.Fatalf("recompiling the marshalled policy: %v", err)
			}
		}
	})
}

func hasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// referenceMatch is the obvious regexp translation of a glob: '*' is any run of
// characters, '?' exactly one.
func referenceMatch(pattern, text string, fold bool) bool {
	var b strings.Builder
	b.WriteString("^(?s)")
	if fold {
		b.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(text)
}

// FuzzWildcard checks the linear-time matcher against referenceMatch.
func FuzzWildcard(f *testing.F) {
	for _, s := range [][2]string{
		{"a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaa"},
		{"kms:Generate*", "kms:GenerateDataKey"},
		{"*/test/*", "1/2/test/3"},
		{"?*?", "ab"},
		{"a?c*", "äbcd"},
		{"", ""},
		{"**", "x"},
		{"*ab*ab", "abab"},
	} {
		f.Add(s[0], s[1], false)
	}
	f.Add("KMS:de*", "kms:Decrypt", true)
	f.Fuzz(func(t *testing.T, pattern, text string, fold bool) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(text) || len(pattern) > 256 || len(text) > 1024 {
			return // the regexp reference is O(len(pattern)·len(text)) per match
		}
		if fold && (!isASCII(pattern) || !isASCII(text)) {
			return // folding is ASCII-only: action names are ASCII
		}
		got := compileGlobString(pattern, fold).match(text, nil)
		if want := referenceMatch(pattern, text, fold); got != want {
			t.Fatalf("match(%q, %q, fold=%v) = %v, reference says %v", pattern, text, fold, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
