package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/testserver"
)

// Through the SDK: a key policy, a trust policy and a grant name the user or
// role that existed when they were saved, by its unique id; a user or role
// deleted and created again under the same name gets nothing of the old one,
// not even through a session of the old one (IAM User Guide,
// reference_policies_elements_principal.md, "IAM role principals" and "IAM
// user principals"). A session limited by its session policy cannot escape
// it through a trust policy naming its role (reference_policies_evaluation-logic.md,
// resource-based policies: an IAM role ARN "is limited by an implicit deny in
// a permissions boundary or session policy").
func TestPrincipalsBoundToUniqueIDs(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	keyIDs := map[string]string{}
	user := func(name string) clients {
		t.Helper()
		_, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		k, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		keyIDs[name] = *k.AccessKey.AccessKeyId
		return clientsFor(srv, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	}
	deleteUser := func(name string) {
		t.Helper()
		if _, err := root.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: aws.String(keyIDs[name])}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	role := func(name, trusted, inline string) string {
		t.Helper()
		r, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy(trusted))})
		if err != nil {
			t.Fatal(err)
		}
		if inline != "" {
			if _, err := root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(inline)}); err != nil {
				t.Fatal(err)
			}
		}
		return *r.Role.Arn
	}
	assume := func(c clients, roleARN, session, policy string) (clients, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)}
		if policy != "" {
			in.Policy = aws.String(policy)
		}
		out, err := c.sts.AssumeRole(ctx, in)
		if err != nil {
			return clients{}, err
		}
		return clientsFor(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken), nil
	}
	userID := func(c clients) string {
		t.Helper()
		who, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		return *who.UserId
	}
	encrypt := func(c clients, keyID string) error {
		_, err := c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("data")})
		return err
	}

	// A key policy naming alice.
	aliceARN := "arn:aws:iam::" + acct + ":user/alice"
	alice := user("alice")
	oldAlice := userID(alice)
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt","Resource":"*"}]}`
	k, err := root.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(policy)})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *k.KeyMetadata.KeyId
	if err := encrypt(alice, keyID); err != nil {
		t.Fatalf("the user the key policy names: %v", err)
	}
	deleteUser("alice")
	newAlice := user("alice")
	apiErr(t, encrypt(newAlice, keyID), "AccessDeniedException", "User: "+aliceARN+" is not authorized to perform: kms:Encrypt")
	p, err := root.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(policy, aliceARN, oldAlice, 1); *p.Policy != want {
		t.Fatalf("GetKeyPolicy after the user was deleted:\ngot  %s\nwant %s", *p.Policy, want)
	}

	// A trust policy naming bob.
	bobARN := "arn:aws:iam::" + acct + ":user/bob"
	bob := user("bob")
	oldBob := userID(bob)
	target := role("target", bobARN, "")
	if _, err := assume(bob, target, "s1", ""); err != nil {
		t.Fatalf("the user the trust policy names: %v", err)
	}
	deleteUser("bob")
	_, err = assume(user("bob"), target, "s2", "")
	apiErr(t, err, "AccessDenied", "User: "+bobARN+" is not authorized to perform: sts:AssumeRole on resource: "+target)
	r, err := root.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("target")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(*r.Role.AssumeRolePolicyDocument); doc != trustPolicy(oldBob) {
		t.Fatalf("GetRole after the trusted user was deleted: %s", doc)
	}

	// A grant to the role app; a session of app; app deleted and created
	// again.
	carol := user("carol")
	carolARN := "arn:aws:iam::" + acct + ":user/carol"
	app := role("app", carolARN, "")
	if _, err := root.kms.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: aws.String(keyID), GranteePrincipal: aws.String(app), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt}}); err != nil {
		t.Fatal(err)
	}
	old, err := assume(carol, app, "old", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := encrypt(old, keyID); err != nil {
		t.Fatalf("a session of the grantee role: %v", err)
	}
	if _, err := root.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	role("app", carolARN, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","sts:AssumeRole"],"Resource":"*"}]}`)
	// The old session's credentials identify no one any more, and do not
	// come back with the new role's permissions.
	apiErr(t, encrypt(old, keyID), "UnrecognizedClientException", "")
	_, err = old.iam.ListUsers(ctx, &iam.ListUsersInput{})
	apiErr(t, err, "InvalidClientTokenId", "")
	fresh, err := assume(carol, app, "new", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.iam.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("a session of the new role has its permissions: %v", err)
	}
	// The grant was to the old role.
	apiErr(t, encrypt(fresh, keyID), "AccessDeniedException", "kms:Encrypt")

	// A session narrowed to kms:DescribeKey cannot assume an admin role that
	// trusts its role.
	admin := role("admin", app, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	narrow, err := assume(carol, app, "narrow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = assume(narrow, admin, "escalate", "")
	apiErr(t, err, "AccessDenied", "because no session policy allows the sts:AssumeRole action")
	if _, err := assume(fresh, admin, "ok", ""); err != nil {
		t.Fatalf("a session of the trusted role without a session policy: %v", err)
	}
}
