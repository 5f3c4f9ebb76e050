package sigv4

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseAuthorization checks that the Authorization header parser never
// panics, returns substrings of its input, accepts a header only if it has
// each of the three components exactly once and nothing else, and that a
// header rebuilt from what it parsed parses to the same values.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID /20150830/us-east-1/service/aws4_request,SignedHeaders=host,Signature=00")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
	f.Add("AWS AKIAI2HBJEUM7LRSTWOQ:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=")
	f.Add(",,, =,Credential==/,")
	f.Add("AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00, Foo=SignedHeaders=x-trent-source-arn")
	f.Add("AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kms/aws4_request,SignedHeaders=host,SignedHeaders=host;x-amz-target,Signature=00")
	// Seed with every Authorization header of the SigV4 suite, if present.
	dirs, _ := filepath.Glob(filepath.Join(suiteDir, "*", "header-signed-request.txt"))
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Authorization:"); ok {
				f.Add(v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, h string) {
		for _, hasDate := range []bool{true, false} {
			a, err := parseAuthorization(h, hasDate)
			if err != nil {
				if err.Kind != IncompleteSignature || err.Message == "" {
					t.Fatalf("error %v", err)
				}
				continue
			}
			if !hasDate {
				t.Fatal("parsed without a date")
			}
			for _, s := range []string{a.algorithm, a.credential, a.signedHeaders, a.signature} {
				if !strings.Contains(h, s) {
					t.Fatalf("%q is not part of %q", s, h)
				}
			}
			if a.credential == "" || a.signedHeaders == "" || a.signature == "" {
				t.Fatalf("empty part in %+v", a)
			}
			// Counted independently of the parser: the tokens after the
			// algorithm are exactly one of each component.
			rest := strings.TrimLeft(h, " \t")
			if i := strings.IndexAny(rest, " \t,"); i >= 0 {
				rest = rest[i:]
			} else {
				rest = ""
			}
			counts := map[string]int{}
			for _, tok := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
				k, _, _ := strings.Cut(tok, "=")
				counts[k]++
			}
			if len(counts) != 3 || counts["Credential"] != 1 || counts["SignedHeaders"] != 1 || counts["Signature"] != 1 {
				t.Fatalf("accepted %q with components %v", h, counts)
			}
			if a.algorithm == "" || strings.ContainsAny(a.algorithm, " \t,") {
				continue // not a header we can rebuild faithfully
			}
			rebuilt := a.algorithm + " Credential=" + a.credential + ", SignedHeaders=" + a.signedHeaders + ", Signature=" + a.signature
			b, err := parseAuthorization(rebuilt, true)
			if err != nil || b != a {
				t.Fatalf("rebuilt %q parsed to %+v, %v; want %+v", rebuilt, b, err, a)
			}
			if c, err := parseCredential(a.credential); err == nil {
				if c.accessKeyID+"/"+c.scope != a.credential {
					t.Fatalf("credential %q split into %+v", a.credential, c)
				}
			}
		}
	})
}
