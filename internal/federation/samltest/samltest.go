// Package samltest is a SAML 2.0 identity provider for tests: its own RSA
// key and certificate, its metadata document, and Responses whose Assertion
// it signs (enveloped XML-DSig, by goxmldsig) as IdPs configured for AWS
// send them.
package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"html"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// IdP is a test identity provider.
type IdP struct {
	EntityID string
	key      *rsa.PrivateKey
	cert     []byte // DER
}

// New makes an IdP with a fresh key and a self-signed certificate.
func New(t testing.TB, entityID string) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: entityID},
		// Valid for whatever fake clock a test runs on.
		NotBefore: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &IdP{EntityID: entityID, key: key, cert: der}
}

// GetKeyPair implements dsig.X509KeyStore.
func (i *IdP) GetKeyPair() (*rsa.PrivateKey, []byte, error) { return i.key, i.cert, nil }

// Metadata is the IdP's SAML metadata document.
func (i *IdP) Metadata() string {
	return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + html.EscapeString(i.EntityID) + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(i.cert) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
}

// Assertion describes the assertion of a Response.
type Assertion struct {
	ID           string // empty: a fresh one
	Subject      string
	Format       string // NameID Format; empty: persistent
	Recipient    string // empty: https://signin.aws.amazon.com/saml
	Audience     string // empty: urn:amazon:webservices
	Issuer       string // empty: the IdP's entity id
	NotBefore    time.Time
	NotOnOrAfter time.Time
	Attributes   map[string][]string
}

// Response is a base64 SAML Response carrying the assertion, which the IdP
// signs.
func (i *IdP) Response(t testing.TB, a Assertion) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(i.responseXML(a)); err != nil {
		t.Fatal(err)
	}
	resp := doc.Root()
	el := resp.FindElement("./saml:Assertion")
	// Sign the assertion as a document of its own, as an IdP builds it,
	// then put it in the Response.
	adoc := etree.NewDocument()
	adoc.SetRoot(el.Copy())
	// Exclusive canonicalization, as IdPs sign: the assertion's signature
	// holds wherever it is placed.
	ctx := dsig.NewDefaultSigningContext(i)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(adoc.Root())
	if err != nil {
		t.Fatal(err)
	}
	resp.RemoveChild(el)
	resp.AddChild(signed)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

var n int

func (i *IdP) responseXML(a Assertion) string {
	n++
	if a.ID == "" {
		a.ID = fmt.Sprintf("_a%d%d", time.Now().UnixNano(), n)
	}
	if a.Format == "" {
		a.Format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	}
	if a.Recipient == "" {
		a.Recipient = "https://signin.aws.amazon.com/saml"
	}
	if a.Audience == "" {
		a.Audience = "urn:amazon:webservices"
	}
	if a.Issuer == "" {
		a.Issuer = i.EntityID
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	e := html.EscapeString
	var attrs strings.Builder
	for name, vals := range a.Attributes {
		attrs.WriteString(`<saml:Attribute Name="` + e(name) + `">`)
		for _, v := range vals {
			attrs.WriteString(`<saml:AttributeValue>` + e(v) + `</saml:AttributeValue>`)
		}
		attrs.WriteString(`</saml:Attribute>`)
	}
	return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r` + a.ID + `" Version="2.0" IssueInstant="` + ts(a.NotBefore) + `" Destination="` + e(a.Recipient) + `">` +
		`<saml:Issuer>` + e(a.Issuer) + `</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` + e(a.ID) + `" Version="2.0" IssueInstant="` + ts(a.NotBefore) + `">` +
		`<saml:Issuer>` + e(a.Issuer) + `</saml:Issuer>` +
		`<saml:Subject><saml:NameID Format="` + e(a.Format) + `">` + e(a.Subject) + `</saml:NameID>` +
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="` + ts(a.NotOnOrAfter) + `" Recipient="` + e(a.Recipient) + `"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + ts(a.NotBefore) + `" NotOnOrAfter="` + ts(a.NotOnOrAfter) + `"><saml:AudienceRestriction><saml:Audience>` + e(a.Audience) + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AuthnStatement AuthnInstant="` + ts(a.NotBefore) + `"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
		`<saml:AttributeStatement>` + attrs.String() + `</saml:AttributeStatement>` +
		`</saml:Assertion></samlp:Response>`
}

// Tamper decodes a Response, replaces old with new in it, and encodes it
// again: the signature no longer matches.
func Tamper(t testing.TB, encoded, old, new string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("the response has no %q", old)
	}
	return base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(b), old, new, 1)))
}
