package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/federation/samltest"
	"github.com/trentkms/trent/internal/testserver"
)

// SAML through the AWS CLI: create-saml-provider with the IdP's metadata,
// then assume-role-with-saml (unsigned) with an assertion the IdP signed
// gives a session that reaches KMS; the same assertion again, a tampered
// one, and one for another audience are refused with STS's errors.
func TestSAMLWithAWSCLI(t *testing.T) {
	needAWSCLI(t)
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	home := t.TempDir()
	aws_ := awsCLIAt(t, srv.URL, home)
	rootEnv := []string{"AWS_ACCESS_KEY_ID=" + testserver.AccessKey, "AWS_SECRET_ACCESS_KEY=" + testserver.SecretKey}
	must := func(env []string, args ...string) []byte {
		t.Helper()
		out, err := aws_(env, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
		return out
	}

	idp := samltest.New(t, "https://idp.example.com/saml")
	md := filepath.Join(home, "metadata.xml")
	writeFile(t, md, idp.Metadata())
	var p struct{ SAMLProviderArn string }
	if err := json.Unmarshal(must(rootEnv, "iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", "file://"+md), &p); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + p.SAMLProviderArn + `"},"Action":"sts:AssumeRoleWithSAML",
		"Condition":{"StringEquals":{"saml:aud":"https://signin.aws.amazon.com/saml"},"ForAnyValue:StringEquals":{"saml:edupersonaffiliation":"staff"}}}]}`
	ctx := testserver.Context(t)
	role, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("staff"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("staff"), PolicyName: aws.String("kms"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	assertion := func(aud string) samltest.Assertion {
		return samltest.Assertion{Subject: "jdoe@example.com", Audience: aud, NotBefore: time.Now().Add(-time.Minute), NotOnOrAfter: time.Now().Add(5 * time.Minute),
			Attributes: map[string][]string{
				federation.SAMLRoleAttribute:            {*role.Role.Arn + "," + p.SAMLProviderArn},
				federation.SAMLRoleSessionNameAttribute: {"jdoe@example.com"},
				"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":      {"staff"},
			}}
	}
	assume := func(resp string) ([]byte, error) {
		return aws_(nil, "sts", "assume-role-with-saml", "--role-arn", *role.Role.Arn, "--principal-arn", p.SAMLProviderArn, "--saml-assertion", resp)
	}
	resp := idp.Response(t, assertion(""))
	out, err := assume(resp)
	if err != nil {
		t.Fatalf("assume-role-with-saml: %v\n%s\n%s", err, out, srv.Stderr())
	}
	var got struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		AssumedRoleUser struct{ Arn string }
		Subject, Issuer string
		NameQualifier   string
	}
	if err := json.Unmarshal(out, &got); err != nil || got.Subject != "jdoe@example.com" || got.Issuer != idp.EntityID ||
		got.AssumedRoleUser.Arn != "arn:aws:sts::"+acct+":assumed-role/staff/jdoe@example.com" {
		t.Fatalf("assume-role-with-saml answered %s (%v)", out, err)
	}
	s := clientsFor(srv, got.Credentials.AccessKeyId, got.Credentials.SecretAccessKey, got.Credentials.SessionToken)
	ctx = testserver.Context(t)
	if _, err := s.kms.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("KMS with the SAML session: %v", err)
	}
	who, err := s.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != got.AssumedRoleUser.Arn {
		t.Fatalf("GetCallerIdentity %v %v", who, err)
	}

	for name, tt := range map[string]struct{ resp, code string }{
		"replayed":       {resp, "IDPRejectedClaim"},
		"tampered":       {samltest.Tamper(t, idp.Response(t, assertion("")), ">staff<", ">admin<"), "InvalidIdentityToken"},
		"other audience": {idp.Response(t, assertion("https://sp.example.com")), "InvalidIdentityToken"},
		"another IdP":    {samltest.New(t, idp.EntityID).Response(t, assertion("")), "InvalidIdentityToken"},
	} {
		out, err := assume(tt.resp)
		if err == nil || !strings.Contains(string(out), tt.code) {
			t.Errorf("%s assertion: %v\n%s", name, err, out)
		}
	}
}
