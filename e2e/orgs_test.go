package e2e

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/testserver"
)

// TestAWSCLIOrganizations runs cli_orgs_test.sh: roots, OUs, tags, SCPs and
// RCPs through the AWS CLI v2.
func TestAWSCLIOrganizations(t *testing.T) { runCLIScript(t, "cli_orgs_test.sh") }

// SCPs and RCPs made through the SDK limit what a member account's
// principals may do and who may use its keys, with AWS's messages; the
// management account is limited by neither; trent authz explain names the
// SCP statement that denied.
func TestGuardrailsThroughTheSDK(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	_, err := root.orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := root.orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := *ca.CreateAccountStatus.AccountId
	roots, err := root.orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	rootID := roots.Roots[0].Id

	// The management account's administrator works in the member account
	// through its access role.
	admin := newUser(t, srv, root, "admin")
	if _, err := root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	role, err := admin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	ops := clientsFor(srv, *role.Credentials.AccessKeyId, *role.Credentials.SecretAccessKey, *role.Credentials.SessionToken)
	memberKey := newKey(t, ops.kms, &kms.CreateKeyInput{Description: aws.String("member key")})
	mgmtKey := newKey(t, root.kms, &kms.CreateKeyInput{Description: aws.String("management key"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Member","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + member + `:root"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}`)})

	// An SCP that denies decryption, on the member account.
	if _, err := root.orgs.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: rootID, PolicyType: orgtypes.PolicyTypeServiceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	scp, err := root.orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Type: orgtypes.PolicyTypeServiceControlPolicy, Name: aws.String("no-decrypt"), Description: aws.String(""),
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"NoDecrypt","Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: scp.Policy.PolicySummary.Id, TargetId: aws.String(member)}); err != nil {
		t.Fatal(err)
	}
	sealed, err := ops.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: memberKey.KeyId, Plaintext: []byte("data")})
	if err != nil {
		t.Fatalf("Encrypt under an SCP that denies only Decrypt: %v", err)
	}
	_, err = ops.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: sealed.CiphertextBlob})
	apiErr(t, err, "AccessDeniedException", "User: "+*role.AssumedRoleUser.Arn+" is not authorized to perform: kms:Decrypt on resource: "+*memberKey.Arn+" with an explicit deny in a service control policy")
	// The SCP follows the member's principals to another account's key.
	other, err := ops.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: mgmtKey.Arn, Plaintext: []byte("data")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: other.CiphertextBlob, KeyId: mgmtKey.Arn})
	apiErr(t, err, "AccessDeniedException", "with an explicit deny in a service control policy")
	// The management account is not limited by SCPs.
	if _, err := root.orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: scp.Policy.PolicySummary.Id, TargetId: rootID}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: other.CiphertextBlob}); err != nil {
		t.Fatalf("the management account under an SCP on the root: %v", err)
	}
	// trent authz explain names the SCP statement.
	cmd := exec.Command(testserver.Binary(t), "authz", "explain", "--endpoint", srv.URL, "--data-dir", srv.DataDir,
		"--principal", "arn:aws:iam::"+member+":role/OrganizationAccountAccessRole", "--action", "kms:Decrypt", "--key-id", *mgmtKey.KeyId)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "denied by SCP "+*scp.Policy.PolicySummary.Id+`, statement 0 "NoDecrypt"`) || !strings.Contains(string(out), "SCP p-FullAWSAccess at "+*rootID) {
		t.Fatalf("trent authz explain:\n%s", out)
	}
	// Detaching the last SCP of a target is refused, with its Reason.
	_, err = root.orgs.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(member)})
	if err != nil {
		t.Fatalf("detaching FullAWSAccess beside the SCP: %v", err)
	}
	_, err = root.orgs.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: scp.Policy.PolicySummary.Id, TargetId: aws.String(member)})
	var cv *orgtypes.ConstraintViolationException
	if !errors.As(err, &cv) || cv.Reason != orgtypes.ConstraintViolationExceptionReasonMinPolicyTypeAttachmentLimitExceeded {
		t.Fatalf("detaching the last SCP: %v", err)
	}
	// With only a deny, the account's level allows nothing.
	_, err = ops.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: memberKey.KeyId, Plaintext: []byte("data")})
	apiErr(t, err, "AccessDeniedException", "because no service control policy allows the kms:Encrypt action")
	if _, err := root.orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(member)}); err != nil {
		t.Fatal(err)
	}

	// An RCP on the member account: no use of its keys without TLS, by
	// anyone, the management account's principals included.
	if _, err := root.orgs.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: rootID, PolicyType: orgtypes.PolicyTypeResourceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	rcp, err := root.orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Type: orgtypes.PolicyTypeResourceControlPolicy, Name: aws.String("tls-only"), Description: aws.String(""),
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"EnforceTLS","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: rcp.Policy.PolicySummary.Id, TargetId: rootID}); err != nil {
		t.Fatal(err)
	}
	_, err = ops.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: memberKey.KeyId, Plaintext: []byte("data")})
	apiErr(t, err, "AccessDeniedException", "on resource: "+*memberKey.Arn+" with an explicit deny in a resource control policy")
	// The management account's keys are not limited by RCPs.
	if _, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: mgmtKey.KeyId, Plaintext: []byte("data")}); err != nil {
		t.Fatalf("the management account's key under an RCP on the root: %v", err)
	}
	// Disabling RCPs lifts them.
	if _, err := root.orgs.DisablePolicyType(ctx, &organizations.DisablePolicyTypeInput{RootId: rootID, PolicyType: orgtypes.PolicyTypeResourceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: memberKey.KeyId, Plaintext: []byte("data")}); err != nil {
		t.Fatalf("Encrypt once RCPs are disabled: %v", err)
	}
}

// trent authz who-can lists who can use a key, with findings for access
// from outside the account and for public statements.
func TestAuthzWhoCan(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	newUser(t, srv, root, "alice")
	putUserPolicy(t, root, "alice", "use", `{"Version":"2012-10-17","Statement":[{"Sid":"DecryptAll","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)
	k := newKey(t, root.kms, &kms.CreateKeyInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Anyone","Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}]}`)})
	whoCan := func(args ...string) string {
		cmd := exec.Command(testserver.Binary(t), append([]string{"authz", "who-can", "--endpoint", srv.URL, "--data-dir", srv.DataDir, "--key", *k.KeyId}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("trent authz who-can %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := whoCan("--action", "kms:Decrypt")
	if !strings.Contains(out, "arn:aws:iam::"+acct+":user/alice (principal): IAM policies through the key policy statement 0 \"Enable IAM User Permissions\"") ||
		strings.Contains(out, "another account") || !strings.Contains(out, "Findings: none") {
		t.Fatalf("who can decrypt:\n%s", out)
	}
	out = whoCan("--action", "kms:Encrypt")
	if !strings.Contains(out, `PublicStatement: the statement allows every principal`) || !strings.Contains(out, "any principal of another account (other)") ||
		!strings.Contains(out, "AccessFromOutsideOrganization") {
		t.Fatalf("who can encrypt:\n%s", out)
	}
	var a struct {
		Actions []struct {
			Action string
			Access []struct{ Principal string }
		}
	}
	if err := json.Unmarshal([]byte(whoCan("--json")), &a); err != nil || len(a.Actions) < 20 {
		t.Fatalf("who-can --json: %+v, %v", a, err)
	}
}
