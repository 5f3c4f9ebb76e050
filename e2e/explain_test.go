package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// trent authz explain shows an operator which statements decided a request.
func TestAuthzExplain(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	newUser(t, srv, root, "alice")
	putUserPolicy(t, root, "alice", "use", `{"Version":"2012-10-17","Statement":[{"Sid":"EncryptOnly","Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`)
	k := newKey(t, root.kms, &kms.CreateKeyInput{Description: aws.String("explained")})
	explain := func(action string) (string, error) {
		cmd := exec.Command(testserver.Binary(t), "authz", "explain", "--endpoint", srv.URL, "--data-dir", srv.DataDir,
			"--principal", "arn:aws:iam::"+acct+":user/alice", "--action", action, "--key-id", *k.KeyId)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := explain("kms:Encrypt")
	if err != nil || !strings.Contains(out, "ALLOW kms:Encrypt") || !strings.Contains(out, "through the key policy's delegation to the account") ||
		!strings.Contains(out, `+ [0] "EncryptOnly" Allow applies`) || !strings.Contains(out, `+ [0] "Enable IAM User Permissions" Allow applies (principal account)`) {
		t.Fatalf("explain kms:Encrypt: %v\n%s", err, out)
	}
	out, err = explain("kms:Decrypt")
	if err == nil || !strings.Contains(out, "DENY kms:Decrypt") ||
		!strings.Contains(out, "User: arn:aws:iam::"+acct+":user/alice is not authorized to perform: kms:Decrypt on resource: "+*k.Arn+" because no identity-based policy allows the kms:Decrypt action") {
		t.Fatalf("explain kms:Decrypt: %v\n%s", err, out)
	}
}
