package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/testserver"
)

// adminAnswer is what a TrentAdmin operation answered: status and body.
type adminAnswer struct {
	status int
	body   string
}

// adminCall sends a TrentAdmin operation signed with SigV4 for kms, as
// `trent authz explain` and `trent service` do, with the given credentials.
func adminCall(t *testing.T, srv *testserver.Server, creds aws.Credentials, op string, in any) adminAnswer {
	t.Helper()
	ctx := context.Background()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentAdmin."+op)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return adminAnswer{resp.StatusCode, string(b)}
}

// Trent's operator operations authorize the caller before they look at what
// the request names: a caller who may not explain authorization learns
// nothing of which users, roles, accounts or keys exist from the answer,
// which is one and the same AccessDenied for every principal and key it asks
// about. The same holds for RegisterService and ListServices, whose denial
// no longer names the operator's account.
func TestAdminOperationsAuthorizeFirst(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	newUser(t, srv, root, "bob")
	if _, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ops"), AssumeRolePolicyDocument: aws.String(trustPolicy(acct))}); err != nil {
		t.Fatal(err)
	}
	k := newKey(t, root.kms, &kms.CreateKeyInput{Description: aws.String("explained")})
	// Alice may do everything IAM and KMS allow, but she is not root.
	if _, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	ak, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	aliceCreds := aws.Credentials{AccessKeyID: *ak.AccessKey.AccessKeyId, SecretAccessKey: *ak.AccessKey.SecretAccessKey}

	var first adminAnswer
	for _, principal := range []string{
		"arn:aws:iam::" + acct + ":user/bob", "arn:aws:iam::" + acct + ":user/ghost",
		"arn:aws:iam::" + acct + ":role/ops", "arn:aws:iam::" + acct + ":role/ghost",
		"arn:aws:iam::" + acct + ":root", "arn:aws:iam::999999999999:root", "arn:aws:iam::999999999999:user/bob", "not-an-arn",
	} {
		for _, keyID := range []string{*k.KeyId, "11111111-2222-3333-4444-555555555555", "alias/none"} {
			got := adminCall(t, srv, aliceCreds, "ExplainAuthorization", map[string]string{"Principal": principal, "Action": "kms:Decrypt", "KeyId": keyID})
			if first.status == 0 {
				first = got
				if got.status != 400 || !strings.Contains(got.body, "AccessDenied") {
					t.Fatalf("explain by a non-root user: %d %s", got.status, got.body)
				}
			}
			if got != first {
				t.Fatalf("explain of %s on %s by a non-root user answered\n%d %s\nbut of others\n%d %s", principal, keyID, got.status, got.body, first.status, first.body)
			}
		}
	}
	// Root, who may explain, still gets its answers.
	rootCreds := aws.Credentials{AccessKeyID: testserver.AccessKey, SecretAccessKey: testserver.SecretKey}
	if got := adminCall(t, srv, rootCreds, "ExplainAuthorization", map[string]string{"Principal": "arn:aws:iam::" + acct + ":user/bob", "Action": "kms:Decrypt", "KeyId": *k.KeyId}); got.status != 200 || !strings.Contains(got.body, `"Allowed":false`) {
		t.Fatalf("explain by root: %d %s", got.status, got.body)
	}
	if got := adminCall(t, srv, rootCreds, "ListServices", struct{}{}); got.status != 200 {
		t.Fatalf("ListServices by root: %d %s", got.status, got.body)
	}

	// A member account's administrator is told no, without the operator's
	// account id.
	if _, err := root.orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	ca, err := root.orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	aliceClients := clientsFor(srv, aliceCreds.AccessKeyID, aliceCreds.SecretAccessKey, "")
	out, err := aliceClients.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + *ca.CreateAccountStatus.AccountId + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("member")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	for _, op := range []string{"ListServices", "RegisterService"} {
		for _, who := range []aws.Credentials{aliceCreds, member} {
			got := adminCall(t, srv, who, op, map[string]string{"Name": "backup.example.internal"})
			if got.status != 400 || !strings.Contains(got.body, "AccessDenied") || strings.Contains(got.body, acct) {
				t.Fatalf("%s by %s: %d %s", op, who.AccessKeyID, got.status, got.body)
			}
		}
	}
}
