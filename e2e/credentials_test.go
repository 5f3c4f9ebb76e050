package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/testserver"
)

// Credentials from GetSessionToken "cannot call IAM API operations unless MFA
// information is included with the request" and "cannot call AWS STS API
// operations except AssumeRole or GetCallerIdentity" (IAM User Guide,
// id_credentials_temp_request: Comparing the AWS STS API operations; STS API
// reference, GetSessionToken). Without MFA every IAM call is refused
// as IAM refuses them: InvalidClientTokenId, "The security token included in
// the request is invalid" (IAM's answer recorded in aws/aws-cli#8918 and
// 99designs/aws-vault#1056). Other services (KMS) still accept them.
func TestSessionTokenCredentialsCannotCallIAM(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice := newUser(t, srv, root, "alice")
	putUserPolicy(t, root, "alice", "all", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*","kms:*"],"Resource":"*"}]}`)
	role, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("target"), AssumeRolePolicyDocument: aws.String(trustPolicy("arn:aws:iam::" + acct + ":user/alice"))})
	if err != nil {
		t.Fatal(err)
	}
	// The user's own long-term key may call IAM: the policy allows it.
	if _, err := alice.iam.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("ListUsers with alice's access key: %v", err)
	}

	for _, who := range []struct {
		name string
		c    clients
	}{{"user", alice}, {"root", root}} {
		st, err := who.c.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
		if err != nil {
			t.Fatal(err)
		}
		ts := clientsFor(srv, *st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)

		_, err = ts.iam.ListUsers(ctx, &iam.ListUsersInput{})
		apiErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid")
		_, err = ts.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
		apiErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid")
		_, err = ts.iam.GetUser(ctx, &iam.GetUserInput{})
		apiErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid")
		_, err = ts.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
		apiErr(t, err, "AccessDenied", "Cannot call GetSessionToken with session credentials")

		if _, err := ts.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("%s: GetCallerIdentity with GetSessionToken credentials: %v", who.name, err)
		}
		if _, err := ts.kms.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
			t.Fatalf("%s: KMS with GetSessionToken credentials: %v", who.name, err)
		}
		if who.name == "user" {
			// AssumeRole is one of the two STS operations they may call, and
			// the role session it makes may call IAM (its own policies decide).
			out, err := ts.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("from-session-token")})
			if err != nil {
				t.Fatalf("AssumeRole with GetSessionToken credentials: %v", err)
			}
			rs := clientsFor(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
			_, err = rs.iam.ListUsers(ctx, &iam.ListUsersInput{})
			apiErr(t, err, "AccessDenied", "because no identity-based policy allows the iam:ListUsers action")
			_, err = rs.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
			apiErr(t, err, "AccessDenied", "Cannot call GetSessionToken with session credentials")
		}
	}
}
