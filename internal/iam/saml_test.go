package iam

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/federation/samltest"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

type samlEnv struct {
	d        *Directory
	clk      *clock
	root     Call
	idp      *samltest.IdP
	provider string
	role     string
}

func newSAMLEnv(t *testing.T) *samlEnv {
	t.Helper()
	d, clk, root := newDirectory(t)
	ctx := context.Background()
	idp := samltest.New(t, "https://idp.example.com/saml")
	p, err := d.CreateSAMLProvider(ctx, root, &iamapi.CreateSAMLProviderRequest{Name: wire.Ptr("corp"), SAMLMetadataDocument: wire.Ptr(idp.Metadata())})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + *p.SAMLProviderArn + `"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"],
		"Condition":{"StringEquals":{"saml:aud":"https://signin.aws.amazon.com/saml","saml:doc":"111122223333/corp"},"ForAnyValue:StringEquals":{"saml:edupersonaffiliation":"staff"}}}]}`
	r, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("staff"), AssumeRolePolicyDocument: wire.Ptr(trust)})
	if err != nil {
		t.Fatal(err)
	}
	return &samlEnv{d: d, clk: clk, root: root, idp: idp, provider: *p.SAMLProviderArn, role: *r.Role.Arn}
}

// assertion is a valid assertion at the directory's clock for the role.
func (e *samlEnv) assertion(subject string, affiliation ...string) samltest.Assertion {
	now := e.clk.Now()
	return samltest.Assertion{Subject: subject, NotBefore: now.Add(-time.Minute), NotOnOrAfter: now.Add(5 * time.Minute), Attributes: map[string][]string{
		federation.SAMLRoleAttribute:                        {e.role + "," + e.provider},
		federation.SAMLRoleSessionNameAttribute:             {subject},
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":                  affiliation,
		federation.SAMLPrincipalTagPrefix + "CostCenter":    {"42"},
		federation.SAMLTransitiveTagKeysAttribute:           {"CostCenter"},
		"https://aws.amazon.com/SAML/Attributes/Irrelevant": {"x"},
	}}
}

func (e *samlEnv) assume(response string) (*stsapi.AssumeRoleWithSAMLResponse, error) {
	return e.d.AssumeRoleWithSAML(context.Background(), authz.Request{Time: e.clk.Now()}, &stsapi.AssumeRoleWithSAMLRequest{
		RoleArn: wire.Ptr(e.role), PrincipalArn: wire.Ptr(e.provider), SAMLAssertion: wire.Ptr(response),
	})
}

// A signed assertion for the role, whose attributes the trust policy
// accepts, gets a session carrying saml:sub, saml:sub_type,
// saml:namequalifier and aws:FederatedProvider, and its session tags; used
// again it is refused, and so are assertions that are tampered with, name
// another role, or carry attributes the trust policy refuses.
func TestAssumeRoleWithSAML(t *testing.T) {
	e := newSAMLEnv(t)
	resp := e.idp.Response(t, e.assertion("jdoe", "staff", "member"))
	out, err := e.assume(resp)
	if err != nil {
		t.Fatal(err)
	}
	nq := nameQualifier("https://idp.example.com/saml", "111122223333", "corp")
	if *out.Subject != "jdoe" || *out.SubjectType != "persistent" || *out.Issuer != "https://idp.example.com/saml" || *out.NameQualifier != nq ||
		*out.Audience != federation.SAMLRecipient || *out.AssumedRoleUser.Arn != "arn:aws:sts::111122223333:assumed-role/staff/jdoe" {
		t.Fatalf("response %+v", out)
	}
	id, err := e.d.Identity(*out.Credentials.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	k := id.Keys()
	if k["saml:sub"][0] != "jdoe" || k["saml:namequalifier"][0] != nq || k["saml:sub_type"][0] != "persistent" || k["aws:federatedprovider"][0] != e.provider ||
		id.Tags["CostCenter"] != "42" || id.IssuedBy != issuedBySAML || k["saml:edupersonaffiliation"] != nil {
		t.Fatalf("identity keys %v tags %v", k, id.Tags)
	}

	n := e.d.sessionCount()
	_, err = e.assume(resp)
	wantWireErr(t, err, "IDPRejectedClaim", "already been used")
	_, err = e.assume(samltest.Tamper(t, e.idp.Response(t, e.assertion("jdoe", "student")), ">student<", ">staff<"))
	wantWireErr(t, err, "InvalidIdentityToken", "Response signature invalid")
	_, err = e.assume(e.idp.Response(t, e.assertion("jdoe", "student")))
	wantWireErr(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
	other := e.assertion("jdoe", "staff")
	other.Attributes[federation.SAMLRoleAttribute] = []string{"arn:aws:iam::111122223333:role/admin," + e.provider}
	_, err = e.assume(e.idp.Response(t, other))
	wantWireErr(t, err, "AccessDenied", "sts:AssumeRoleWithSAML")
	badName := e.assertion("jdoe", "staff")
	badName.Attributes[federation.SAMLRoleSessionNameAttribute] = []string{"j doe!"}
	_, err = e.assume(e.idp.Response(t, badName))
	wantWireErr(t, err, "InvalidIdentityToken", "RoleSessionName in AuthnResponse must match")
	expired := e.assertion("jdoe", "staff")
	expired.NotBefore, expired.NotOnOrAfter = e.clk.Now().Add(-time.Hour), e.clk.Now().Add(-time.Second)
	_, err = e.assume(e.idp.Response(t, expired))
	wantWireErr(t, err, "ExpiredTokenException", "expired")
	wrongAud := e.assertion("jdoe", "staff")
	wrongAud.Recipient = "https://sp.example.com/acs"
	_, err = e.assume(e.idp.Response(t, wrongAud))
	wantWireErr(t, err, "InvalidIdentityToken", "Recipient")
	if e.d.sessionCount() != n {
		t.Fatal("a refused assertion issued a session")
	}

	// Used assertions are forgotten once expired.
	e.clk.Add(10 * time.Minute)
	if err := e.d.purgeAssertions(context.Background()); err != nil {
		t.Fatal(err)
	}
	kvs, _, _ := e.d.st.Range(context.Background(), samlAssertionsPrefix)
	if len(kvs) != 0 {
		t.Fatalf("%d used assertions kept after they expired", len(kvs))
	}
}

// SAML provider operations keep the metadata and refuse what Trent cannot
// honour (encrypted assertions) or parse.
func TestSAMLProviderOperations(t *testing.T) {
	e := newSAMLEnv(t)
	ctx := context.Background()
	_, err := e.d.CreateSAMLProvider(ctx, e.root, &iamapi.CreateSAMLProviderRequest{Name: wire.Ptr("CORP"), SAMLMetadataDocument: wire.Ptr(e.idp.Metadata())})
	wantWireErr(t, err, "EntityAlreadyExists", "")
	_, err = e.d.CreateSAMLProvider(ctx, e.root, &iamapi.CreateSAMLProviderRequest{Name: wire.Ptr("x"), SAMLMetadataDocument: wire.Ptr("<not-metadata/>")})
	wantWireErr(t, err, "InvalidInput", "metadata")
	_, err = e.d.CreateSAMLProvider(ctx, e.root, &iamapi.CreateSAMLProviderRequest{Name: wire.Ptr("y"), SAMLMetadataDocument: wire.Ptr(e.idp.Metadata()), AssertionEncryptionMode: wire.Ptr("Required")})
	wantWireErr(t, err, "InvalidInput", "Encrypted")
	got, err := e.d.GetSAMLProvider(ctx, e.root, &iamapi.GetSAMLProviderRequest{SAMLProviderArn: wire.Ptr(e.provider)})
	if err != nil || *got.SAMLMetadataDocument != e.idp.Metadata() || got.SAMLProviderUUID == nil {
		t.Fatalf("GetSAMLProvider %+v %v", got, err)
	}
	// A new signing key: assertions of the old one stop verifying.
	next := samltest.New(t, "https://idp.example.com/saml")
	if _, err := e.d.UpdateSAMLProvider(ctx, e.root, &iamapi.UpdateSAMLProviderRequest{SAMLProviderArn: wire.Ptr(e.provider), SAMLMetadataDocument: wire.Ptr(next.Metadata())}); err != nil {
		t.Fatal(err)
	}
	_, err = e.assume(e.idp.Response(t, e.assertion("jdoe", "staff")))
	wantWireErr(t, err, "InvalidIdentityToken", "")
	if _, err := e.assume(next.Response(t, e.assertion("jdoe", "staff"))); err != nil {
		t.Fatal(err)
	}
	list, err := e.d.ListSAMLProviders(ctx, e.root, &iamapi.ListSAMLProvidersRequest{})
	if err != nil || len(list.SAMLProviderList) != 1 || !strings.HasSuffix(*list.SAMLProviderList[0].Arn, ":saml-provider/corp") {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := e.d.DeleteSAMLProvider(ctx, e.root, &iamapi.DeleteSAMLProviderRequest{SAMLProviderArn: wire.Ptr(e.provider)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.assume(next.Response(t, e.assertion("jdoe", "staff")))
	wantWireErr(t, err, "InvalidIdentityToken", "No SAML provider")
}
