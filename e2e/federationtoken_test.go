package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/testserver"
)

// A federated user of GetFederationToken reaches KMS with what both its
// user's policies and its session policy allow, and no more; it may call no
// IAM operation and no STS operation but GetCallerIdentity.
func TestGetFederationToken(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	broker := newUser(t, srv, root, "broker")
	putUserPolicy(t, root, "broker", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","sts:GetFederationToken","iam:*"],"Resource":"*"}]}`)
	k, err := root.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := broker.sts.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("web-user-7"), DurationSeconds: aws.Int32(900),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:CreateKey","iam:ListUsers"],"Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.FederatedUser.Arn != "arn:aws:sts::"+acct+":federated-user/web-user-7" {
		t.Fatalf("federated user %s", *out.FederatedUser.Arn)
	}
	fed := clientsFor(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	who, err := fed.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != *out.FederatedUser.Arn || *who.UserId != acct+":web-user-7" {
		t.Fatalf("GetCallerIdentity = %+v, %v", who, err)
	}
	enc, err := fed.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatalf("Encrypt, allowed by both: %v", err)
	}
	_, err = fed.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	apiErr(t, err, "AccessDeniedException", "kms:Decrypt")
	_, err = fed.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	apiErr(t, err, "AccessDeniedException", "kms:CreateKey")
	_, err = fed.iam.ListUsers(ctx, &iam.ListUsersInput{})
	apiErr(t, err, "InvalidClientTokenId", "")
	_, err = fed.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/any"), RoleSessionName: aws.String("x1")})
	apiErr(t, err, "AccessDenied", "Cannot call AssumeRole with session credentials")
	_, err = fed.sts.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("again")})
	apiErr(t, err, "AccessDenied", "Cannot call GetFederationToken with session credentials")
}
