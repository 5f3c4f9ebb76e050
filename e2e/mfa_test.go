package e2e

import (
	"encoding/base32"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/testserver"
)

// MFA through the AWS CLI as a person sets it up: create-virtual-mfa-device
// writes the Base32 seed (or the QR code) to a file, enable-mfa-device takes
// two consecutive codes, and get-session-token with the device and a code
// gives credentials that may call IAM. The code is accepted once; a wrong
// code is refused with AccessDenied.
func TestMFAWithAWSCLI(t *testing.T) {
	needAWSCLI(t)
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice := newUser(t, srv, root, "alice")
	putUserPolicy(t, root, "alice", "all", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*"],"Resource":"*"}]}`)
	creds, err := alice.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	aws_ := awsCLIAt(t, srv.URL, home)
	as := []string{"AWS_ACCESS_KEY_ID=" + *creds.AccessKey.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + *creds.AccessKey.SecretAccessKey}
	must := func(env []string, args ...string) []byte {
		t.Helper()
		out, err := aws_(env, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	seedFile := filepath.Join(home, "seed.txt")
	var dev struct{ VirtualMFADevice struct{ SerialNumber string } }
	if err := json.Unmarshal(must(as, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "alice-phone", "--outfile", seedFile, "--bootstrap-method", "Base32StringSeed"), &dev); err != nil {
		t.Fatal(err)
	}
	b32, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimSpace(string(b32)))
	if err != nil || len(seed) != federation.SeedSize {
		t.Fatalf("seed file %q: %v", b32, err)
	}
	qr := filepath.Join(home, "qr.png")
	must(as, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "alice-spare", "--outfile", qr, "--bootstrap-method", "QRCodePNG")
	if png, err := os.ReadFile(qr); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("QR code file: %v", err)
	}
	code := func(offset int64) string {
		c, _ := federation.Code(seed, federation.Step(time.Now())+offset)
		return c
	}
	must(as, "iam", "enable-mfa-device", "--user-name", "alice", "--serial-number", dev.VirtualMFADevice.SerialNumber,
		"--authentication-code1", code(-2), "--authentication-code2", code(-1))

	if out, err := aws_(as, "sts", "get-session-token", "--serial-number", dev.VirtualMFADevice.SerialNumber, "--token-code", "000000"); err == nil || !strings.Contains(string(out), "AccessDenied") {
		t.Fatalf("a wrong code: %v\n%s", err, out)
	}
	now := code(0)
	var st struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	if err := json.Unmarshal(must(as, "sts", "get-session-token", "--serial-number", dev.VirtualMFADevice.SerialNumber, "--token-code", now), &st); err != nil {
		t.Fatal(err)
	}
	if out, err := aws_(as, "sts", "get-session-token", "--serial-number", dev.VirtualMFADevice.SerialNumber, "--token-code", now); err == nil || !strings.Contains(string(out), "AccessDenied") {
		t.Fatalf("the same code twice: %v\n%s", err, out)
	}
	session := []string{"AWS_ACCESS_KEY_ID=" + st.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + st.Credentials.SecretAccessKey, "AWS_SESSION_TOKEN=" + st.Credentials.SessionToken}
	must(session, "iam", "list-users")
	var devs struct {
		MFADevices []struct{ SerialNumber string }
	}
	if err := json.Unmarshal(must(session, "iam", "list-mfa-devices"), &devs); err != nil || len(devs.MFADevices) != 1 {
		t.Fatalf("list-mfa-devices: %+v %v", devs, err)
	}

	// Without MFA, the same user's session may not call IAM.
	ctx = testserver.Context(t)
	plain, err := alice.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	ps := clientsFor(srv, *plain.Credentials.AccessKeyId, *plain.Credentials.SecretAccessKey, *plain.Credentials.SessionToken)
	_, err = ps.iam.ListUsers(ctx, &iam.ListUsersInput{})
	apiErr(t, err, "InvalidClientTokenId", "")
}
