package federation_test

import (
	"testing"
	"time"

	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/federation/samltest"
)

// A signed assertion for AWS verifies; a tampered, expired, not yet valid,
// foreign, misdirected or unsigned one does not.
func TestVerifySAML(t *testing.T) {
	idp := samltest.New(t, "https://idp.example.com/saml")
	md, err := federation.ParseSAMLMetadata([]byte(idp.Metadata()))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	base := func() samltest.Assertion {
		return samltest.Assertion{Subject: "jdoe", NotBefore: now.Add(-time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
			Attributes: map[string][]string{federation.SAMLRoleSessionNameAttribute: {"jdoe"}, "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": {"staff", "member"}}}
	}
	a, err := federation.VerifySAML(md, idp.Response(t, base()), now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != "jdoe" || a.SubjectType != "persistent" || a.Issuer != idp.EntityID || a.Recipient != federation.SAMLRecipient ||
		len(a.Attributes["urn:oid:1.3.6.1.4.1.5923.1.1.1.1"]) != 2 || a.ID == "" {
		t.Fatalf("assertion %+v", a)
	}
	other := samltest.New(t, "https://idp.example.com/saml")
	with := func(f func(*samltest.Assertion)) samltest.Assertion { x := base(); f(&x); return x }
	for _, tt := range []struct {
		name     string
		response string
		kind     federation.Kind
	}{
		{"tampered subject", samltest.Tamper(t, idp.Response(t, base()), ">jdoe<", ">root<"), federation.Invalid},
		{"tampered attribute", samltest.Tamper(t, idp.Response(t, base()), ">staff<", ">admin<"), federation.Invalid},
		{"signed by another key", other.Response(t, base()), federation.Invalid},
		{"expired", idp.Response(t, with(func(x *samltest.Assertion) {
			x.NotBefore, x.NotOnOrAfter = now.Add(-time.Hour), now.Add(-time.Minute)
		})), federation.Expired},
		{"not yet valid", idp.Response(t, with(func(x *samltest.Assertion) { x.NotBefore = now.Add(time.Hour); x.NotOnOrAfter = now.Add(2 * time.Hour) })), federation.Invalid},
		{"another recipient", idp.Response(t, with(func(x *samltest.Assertion) { x.Recipient = "https://evil.example.com/acs" })), federation.Invalid},
		{"another audience", idp.Response(t, with(func(x *samltest.Assertion) { x.Audience = "https://sp.example.com" })), federation.Invalid},
		{"another issuer", idp.Response(t, with(func(x *samltest.Assertion) { x.Issuer = "https://other.example.com" })), federation.Invalid},
		{"not base64", "<samlp:Response/>", federation.Invalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := federation.VerifySAML(md, tt.response, now, 5*time.Minute)
			wantKind(t, err, tt.kind, "")
		})
	}
	// Signature stripped: the unsigned response and assertion are refused.
	unsigned := samltest.Tamper(t, idp.Response(t, base()), "<ds:Signature", "<ds:Ignored")
	if _, err := federation.VerifySAML(md, unsigned, now, 5*time.Minute); err == nil {
		t.Fatal("an assertion whose signature was renamed away verified")
	}
}
