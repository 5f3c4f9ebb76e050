package federation_test

import (
	"testing"
	"time"

	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/federation/samltest"
)

// Whatever a caller sends as a web identity token, reading its issuer
// neither panics nor accepts a token without one.
func FuzzIssuer(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3gifQ.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		if iss, err := federation.Issuer(token); err == nil && iss == "" {
			t.Fatal("an empty issuer was accepted")
		}
	})
}

// Whatever a caller sends as a SAML assertion, verification neither panics
// nor accepts anything the IdP did not sign.
func FuzzVerifySAML(f *testing.F) {
	idp := samltest.New(f, "https://idp.example.com/saml")
	md, err := federation.ParseSAMLMetadata([]byte(idp.Metadata()))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	f.Add(samltest.Tamper(f, idp.Response(f, samltest.Assertion{Subject: "a", NotBefore: now, NotOnOrAfter: now.Add(time.Hour)}), ">a<", ">b<"))
	f.Add("PHNhbWxwOlJlc3BvbnNlLz4=")
	f.Fuzz(func(t *testing.T, encoded string) {
		if a, err := federation.VerifySAML(md, encoded, now, time.Minute); err == nil {
			t.Fatalf("an assertion the IdP did not sign verified: %+v", a)
		}
	})
}

// Whatever an operator configures as a provider's keys, parsing neither
// panics nor accepts a set without a public signing key.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if set, err := federation.ParseJWKS(doc); err == nil {
			for _, k := range set.Keys {
				if !k.IsPublic() {
					t.Fatal("a non-public key was accepted")
				}
			}
		}
	})
}
