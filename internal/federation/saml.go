package federation

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	samltypes "github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAML assertions are verified by gosaml2 (signatures by goxmldsig, the
// document checked by a round-trip validator against XML rewriting). STS
// takes them as AWS's sign-in endpoint does: the IdP is configured for AWS.
const (
	// SAMLRecipient is the SubjectConfirmationData Recipient an assertion
	// must name (saml:aud): AWS's SAML endpoint.
	SAMLRecipient = "https://signin.aws.amazon.com/saml"
	// Attribute names of AWS's SAML integration
	// (id_roles_providers_create_saml_assertions).
	SAMLRoleAttribute              = "https://aws.amazon.com/SAML/Attributes/Role"
	SAMLRoleSessionNameAttribute   = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	SAMLPrincipalTagPrefix         = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	SAMLTransitiveTagKeysAttribute = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
	SAMLSourceIdentityAttribute    = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
)

// samlAudiences are the audiences an assertion may be restricted to.
var samlAudiences = []string{"urn:amazon:webservices", SAMLRecipient}

// SAMLMetadata is what STS needs of an IdP's metadata document.
type SAMLMetadata struct {
	EntityID   string
	Certs      []*x509.Certificate // signing certificates
	ValidUntil time.Time           // zero: none stated
}

// ParseSAMLMetadata reads an IdP's SAML metadata: its entity id and the
// certificates of its signing keys.
func ParseSAMLMetadata(doc []byte) (*SAMLMetadata, error) {
	var ed samltypes.EntityDescriptor
	if err := xml.Unmarshal(doc, &ed); err != nil {
		return nil, fmt.Errorf("federation: SAML metadata: %w", err)
	}
	if ed.EntityID == "" || ed.IDPSSODescriptor == nil {
		return nil, errors.New("federation: SAML metadata: no entityID or IDPSSODescriptor")
	}
	md := &SAMLMetadata{EntityID: ed.EntityID, ValidUntil: ed.ValidUntil}
	for _, kd := range ed.IDPSSODescriptor.KeyDescriptors {
		if kd.Use != "" && kd.Use != "signing" {
			continue
		}
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
			if err != nil {
				return nil, fmt.Errorf("federation: SAML metadata: certificate: %w", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("federation: SAML metadata: certificate: %w", err)
			}
			md.Certs = append(md.Certs, cert)
		}
	}
	if len(md.Certs) == 0 {
		return nil, errors.New("federation: SAML metadata: no signing certificate")
	}
	return md, nil
}

// Assertion is what a verified SAML assertion says.
type Assertion struct {
	ID           string // the assertion's ID: replays are told by it
	Issuer       string
	Subject      string
	SubjectType  string // persistent, transient, or the NameID Format URI
	Recipient    string
	NotOnOrAfter time.Time // when it stops being usable (and its ID may be forgotten)
	// Attributes by Name, and the FriendlyName of each Name that has one.
	Attributes    map[string][]string
	FriendlyNames map[string]string
}

// VerifySAML verifies a base64 SAML Response from the IdP md describes at
// time now: the Response's or the Assertion's signature by one of its
// certificates, its issuer, status, bearer subject confirmation for
// SAMLRecipient, audience, and validity window (NotBefore with skew;
// NotOnOrAfter without).
func VerifySAML(md *SAMLMetadata, encoded string, now time.Time, skew time.Duration) (*Assertion, error) {
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderIssuer:      md.EntityID,
		AssertionConsumerServiceURL: SAMLRecipient,
		AudienceURI:                 samlAudiences[0],
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: md.Certs},
		Clock:                       dsig.NewFakeClockAt(now),
		MaximumXMLTokens:            50000,
	}
	resp, err := sp.ValidateEncodedResponse(encoded)
	if err != nil {
		var iv saml2.ErrInvalidValue
		if errors.As(err, &iv) && iv.Reason == saml2.ReasonExpired {
			return nil, &Error{Kind: Expired, Message: "The SAML assertion has expired.", Err: err}
		}
		if errors.As(err, &iv) && (iv.Key == saml2.RecipientAttr || iv.Key == saml2.DestinationAttr) {
			return nil, invalid("The SAML assertion's Recipient is not "+SAMLRecipient+".", err)
		}
		if errors.As(err, &iv) && iv.Key == saml2.IssuerTag {
			return nil, invalid("The issuer of the SAML response is not the provider's.", err)
		}
		return nil, invalid("Response signature invalid", err)
	}
	if len(resp.Assertions) != 1 {
		return nil, invalid("The SAML response must hold exactly one assertion.", nil)
	}
	a := &resp.Assertions[0]
	if !resp.SignatureValidated && !a.SignatureValidated {
		return nil, invalid("Response signature invalid", nil)
	}
	c := a.Conditions
	if c == nil || a.ID == "" {
		return nil, invalid("The SAML assertion has no Conditions or no ID.", nil)
	}
	notBefore, err1 := time.Parse(time.RFC3339, c.NotBefore)
	notAfter, err2 := time.Parse(time.RFC3339, c.NotOnOrAfter)
	if err1 != nil || err2 != nil {
		return nil, invalid("The SAML assertion's Conditions need NotBefore and NotOnOrAfter.", nil)
	}
	if now.Add(skew).Before(notBefore) {
		return nil, invalid("The SAML assertion is not valid yet (NotBefore).", nil)
	}
	if !now.Before(notAfter) {
		return nil, &Error{Kind: Expired, Message: "The SAML assertion has expired."}
	}
	if len(c.AudienceRestrictions) == 0 {
		return nil, invalid("The SAML assertion has no audience restriction.", nil)
	}
	for _, ar := range c.AudienceRestrictions {
		ok := false
		for _, au := range ar.Audiences {
			for _, want := range samlAudiences {
				ok = ok || au.Value == want
			}
		}
		if !ok {
			return nil, invalid("The SAML assertion's audience is not urn:amazon:webservices.", nil)
		}
	}
	sc := a.Subject.SubjectConfirmation.SubjectConfirmationData
	if scAfter, err := time.Parse(time.RFC3339, sc.NotOnOrAfter); err == nil && scAfter.Before(notAfter) {
		notAfter = scAfter
	}
	if a.Subject.NameID == nil || a.Subject.NameID.Value == "" {
		return nil, invalid("The SAML assertion has no NameID.", nil)
	}
	out := &Assertion{
		ID: a.ID, Issuer: a.Issuer.Value, Subject: a.Subject.NameID.Value, SubjectType: subjectType(a.Subject.NameID.Format),
		Recipient: sc.Recipient, NotOnOrAfter: notAfter, Attributes: map[string][]string{}, FriendlyNames: map[string]string{},
	}
	if a.AttributeStatement != nil {
		for _, at := range a.AttributeStatement.Attributes {
			for _, v := range at.Values {
				out.Attributes[at.Name] = append(out.Attributes[at.Name], strings.TrimSpace(v.Value))
			}
			if at.FriendlyName != "" {
				out.FriendlyNames[at.Name] = at.FriendlyName
			}
		}
	}
	return out, nil
}

// subjectType is saml:sub_type: persistent or transient for those NameID
// formats, the format URI otherwise.
func subjectType(format string) string {
	switch format {
	case "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":
		return "persistent"
	case "urn:oasis:names:tc:SAML:2.0:nameid-format:transient":
		return "transient"
	}
	return format
}
