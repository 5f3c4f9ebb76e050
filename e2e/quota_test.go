package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// A node enforces request quotas per account: over a quota it answers AWS's
// ThrottlingException, which the SDKs retry as throttling; other quotas are
// untouched.
func TestRequestQuotas(t *testing.T) {
	// CreateKey at one request per 1,000 s: the bucket holds one.
	srv := testserver.Start(t, testserver.Options{Env: []string{"TRENT_QUOTA_SCALE=1", "TRENT_QUOTAS=CreateKey=0.001"}})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	k := newKey(t, root.kms, nil)
	_, err := root.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	wantErr(t, err, "ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Fatalf("the SDK does not see %v as throttling", err)
	}
	// A user of the same account shares the account's quota.
	user := newUser(t, srv, root, "quota-user")
	if _, err := root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("quota-user"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	_, err = user.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	wantErr(t, err, "ThrottlingException", "")
	// Other operations have quotas of their own.
	if _, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
}

// Bad quota settings stop trent serve before it creates anything.
func TestQuotaSettingsAreChecked(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"TRENT_QUOTAS=Encrypt=5", `no quota is named "Encrypt"`},
		{"TRENT_QUOTAS=CreateKey=0", "positive number"},
		{"TRENT_QUOTA_SCALE=-1", "want 0 (off) or more"},
	} {
		dir := t.TempDir()
		cmd := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
		cmd.Env = append(cmd.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: %v\n%s", tc.env, err, out)
		}
	}
}
