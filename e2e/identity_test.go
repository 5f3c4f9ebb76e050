package e2e

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/trentkms/trent/internal/testserver"
)

const acct = testserver.Account

type clients struct {
	iam  *iam.Client
	sts  *sts.Client
	kms  *kms.Client
	orgs *organizations.Client
}

func clientsFor(srv *testserver.Server, key, secret, token string) clients {
	cfg := srv.ConfigFor("us-east-1", key, secret, token)
	return clients{iam: iam.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg), kms: kms.NewFromConfig(cfg), orgs: organizations.NewFromConfig(cfg)}
}

// newUser creates an IAM user with an access key and returns its clients.
func newUser(t *testing.T, srv *testserver.Server, root clients, name string) clients {
	t.Helper()
	ctx := testserver.Context(t)
	if _, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	k, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return clientsFor(srv, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
}

func apiErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func putUserPolicy(t *testing.T, root clients, user, name, doc string) {
	t.Helper()
	if _, err := root.iam.PutUserPolicy(testserver.Context(t), &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
}

// IAM actions are authorized by the caller's identity policies: none means
// denied (IAM User Guide, policy evaluation logic: implicit deny); an allow
// grants; an explicit deny wins over it.
func TestIAMActionsFollowIdentityPolicies(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice := newUser(t, srv, root, "alice")

	who, err := alice.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != "arn:aws:iam::"+acct+":user/alice" || *who.Account != acct || !strings.HasPrefix(*who.UserId, "AIDA") {
		t.Fatalf("GetCallerIdentity as alice = %+v, %v", who, err)
	}
	_, err = alice.iam.ListUsers(ctx, &iam.ListUsersInput{})
	apiErr(t, err, "AccessDenied", "User: arn:aws:iam::"+acct+":user/alice is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::"+acct+":user/* because no identity-based policy allows the iam:ListUsers action")

	putUserPolicy(t, root, "alice", "list", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`)
	users, err := alice.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil || len(users.Users) != 1 || *users.Users[0].UserName != "alice" {
		t.Fatalf("ListUsers with an allow = %+v, %v", users, err)
	}
	putUserPolicy(t, root, "alice", "deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}`)
	_, err = alice.iam.ListUsers(ctx, &iam.ListUsersInput{})
	apiErr(t, err, "AccessDenied", "with an explicit deny in an identity-based policy")

	got, err := root.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("deny")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(*got.PolicyDocument); !strings.Contains(doc, `"Effect":"Deny"`) {
		t.Fatalf("GetUserPolicy document = %s", *got.PolicyDocument)
	}
	_, err = root.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`)})
	apiErr(t, err, "MalformedPolicyDocument", "")
	// A group's policies apply to its members.
	if _, err := root.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("readers")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("readers"), PolicyName: aws.String("roles"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	apiErr(t, err, "AccessDenied", "iam:GetRole")
	if _, err := root.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("readers"), UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	apiErr(t, err, "NoSuchEntity", "The role with name nope cannot be found.")
	_, err = root.iam.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("readers")})
	apiErr(t, err, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
}

func TestUsersKeysAndConflicts(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	created, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/eng/"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("kms")}}})
	if err != nil || *created.User.Arn != "arn:aws:iam::"+acct+":user/eng/bob" {
		t.Fatalf("CreateUser = %+v, %v", created, err)
	}
	_, err = root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("BOB")})
	apiErr(t, err, "EntityAlreadyExists", "User with name BOB already exists.")
	_, err = root.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("carol")})
	apiErr(t, err, "NoSuchEntity", "The user with name carol cannot be found.")

	k1, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	_, err = root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	apiErr(t, err, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	_, err = root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")})
	apiErr(t, err, "DeleteConflict", "Cannot delete entity, must delete access keys first.")

	bob := clientsFor(srv, *k1.AccessKey.AccessKeyId, *k1.AccessKey.SecretAccessKey, "")
	if _, err := bob.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: k1.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	_, err = bob.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	apiErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
	_, err = bob.kms.ListKeys(ctx, &kms.ListKeysInput{})
	apiErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")

	keys, err := root.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	if err != nil || len(keys.AccessKeyMetadata) != 2 {
		t.Fatalf("ListAccessKeys = %+v, %v", keys, err)
	}
	for _, k := range keys.AccessKeyMetadata {
		if _, err := root.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: k.AccessKeyId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
}

func trustPolicy(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
}

func TestAssumeRole(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice, bob := newUser(t, srv, root, "alice"), newUser(t, srv, root, "bob")
	mk := func(name, trust string) string {
		r, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200)})
		if err != nil {
			t.Fatal(err)
		}
		return *r.Role.Arn
	}
	direct := mk("direct", trustPolicy("arn:aws:iam::"+acct+":user/alice"))
	viaAccount := mk("via-account", trustPolicy(acct))

	// A trust policy naming the caller suffices in the same account.
	out, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("s1"),
		Tags: []ststypes.Tag{{Key: aws.String("project"), Value: aws.String("trent")}}})
	if err != nil {
		t.Fatal(err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::"+acct+":assumed-role/direct/s1" || !strings.HasPrefix(*out.Credentials.AccessKeyId, "ASIA") {
		t.Fatalf("AssumeRole = %+v", out.AssumedRoleUser)
	}
	sess := clientsFor(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	who, err := sess.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != *out.AssumedRoleUser.Arn || *who.UserId != *out.AssumedRoleUser.AssumedRoleId {
		t.Fatalf("GetCallerIdentity in the session = %+v, %v", who, err)
	}
	// Using the session counts as using the role.
	if r, err := root.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("direct")}); err != nil || r.Role.RoleLastUsed == nil || r.Role.RoleLastUsed.LastUsedDate == nil {
		t.Fatalf("RoleLastUsed after the session was used: %+v, %v", r, err)
	}
	// The session token is part of the credentials: a wrong one is refused.
	bad := clientsFor(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, "not-the-token")
	_, err = bad.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	apiErr(t, err, "InvalidClientTokenId", "")

	// Bob is not in the trust policy.
	_, err = bob.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("xx")})
	apiErr(t, err, "AccessDenied", "User: arn:aws:iam::"+acct+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+direct)

	// A trust policy naming the account delegates to identity policies.
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(viaAccount), RoleSessionName: aws.String("s2")})
	apiErr(t, err, "AccessDenied", "because no identity-based policy allows the sts:AssumeRole action")
	putUserPolicy(t, root, "alice", "assume", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+viaAccount+`"}]}`)
	if _, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(viaAccount), RoleSessionName: aws.String("s2")}); err != nil {
		t.Fatalf("AssumeRole with trust via the account and an identity allow: %v", err)
	}
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("long"), DurationSeconds: aws.Int32(7201)})
	apiErr(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = root.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("rr")})
	apiErr(t, err, "AccessDenied", "Roles may not be assumed by root accounts.")

	// sts:ExternalId conditions work as written.
	ext := mk("external", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/alice"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"s3cret"}}}]}`)
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ext), RoleSessionName: aws.String("ee")})
	apiErr(t, err, "AccessDenied", "sts:AssumeRole")
	if _, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ext), RoleSessionName: aws.String("ee"), ExternalId: aws.String("s3cret")}); err != nil {
		t.Fatalf("AssumeRole with the right ExternalId: %v", err)
	}

	// The session acts with the role's policies, narrowed by a session policy.
	if _, err := root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("direct"), PolicyName: aws.String("iam-read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListRoles"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.iam.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("role session with the role's allow: %v", err)
	}
	narrowed, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("narrow"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	ns := clientsFor(srv, *narrowed.Credentials.AccessKeyId, *narrowed.Credentials.SecretAccessKey, *narrowed.Credentials.SessionToken)
	if _, err := ns.iam.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("narrowed session, allowed action: %v", err)
	}
	_, err = ns.iam.ListRoles(ctx, &iam.ListRolesInput{})
	apiErr(t, err, "AccessDenied", "because no session policy allows the iam:ListRoles action")

	// GetSessionToken gives temporary credentials of the user itself.
	st, err := alice.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	ts := clientsFor(srv, *st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)
	if who, err := ts.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil || *who.Arn != "arn:aws:iam::"+acct+":user/alice" {
		t.Fatalf("GetCallerIdentity with a session token = %+v, %v", who, err)
	}
	_, err = ts.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	apiErr(t, err, "AccessDenied", "Cannot call GetSessionToken with session credentials")
}

func TestManagedPoliciesAndBoundaries(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice := newUser(t, srv, root, "alice")
	p, err := root.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("ReadIAM"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`)})
	if err != nil || *p.Policy.Arn != "arn:aws:iam::"+acct+":policy/ReadIAM" || *p.Policy.DefaultVersionId != "v1" {
		t.Fatalf("CreatePolicy = %+v, %v", p, err)
	}
	if _, err := root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: p.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.iam.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("attached managed policy does not apply: %v", err)
	}
	// A new default version takes effect at once.
	if _, err := root.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, SetAsDefault: true,
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.iam.ListUsers(ctx, &iam.ListUsersInput{})
	apiErr(t, err, "AccessDenied", "iam:ListUsers")
	_, err = root.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Policy.Arn})
	apiErr(t, err, "DeleteConflict", "Cannot delete a policy attached to entities.")
	gp, err := root.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Policy.Arn})
	if err != nil || *gp.Policy.AttachmentCount != 1 || *gp.Policy.DefaultVersionId != "v2" {
		t.Fatalf("GetPolicy = %+v, %v", gp, err)
	}

	// A permissions boundary caps what identity policies grant.
	if _, err := root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMFullAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.iam.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("IAMFullAccess does not allow ListRoles: %v", err)
	}
	if _, err := root.iam.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("alice"), PermissionsBoundary: p.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.iam.ListRoles(ctx, &iam.ListRolesInput{})
	apiErr(t, err, "AccessDenied", "because no permissions boundary allows the iam:ListRoles action")
	if _, err := alice.iam.GetUser(ctx, &iam.GetUserInput{}); err != nil {
		t.Fatalf("an action allowed by both the policy and the boundary: %v", err)
	}
	_, err = root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::" + acct + ":policy/Nope")})
	apiErr(t, err, "NoSuchEntity", "Policy arn:aws:iam::"+acct+":policy/Nope does not exist or is not attachable.")
}

func TestServiceLinkedRoles(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice := newUser(t, srv, root, "alice")
	_, err := alice.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("mrk.kms.amazonaws.com")})
	apiErr(t, err, "AccessDenied", "iam:CreateServiceLinkedRole")
	putUserPolicy(t, root, "alice", "slr", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringEquals":{"iam:AWSServiceName":"mrk.kms.amazonaws.com"}}}]}`)
	_, err = alice.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("cks.kms.amazonaws.com")})
	apiErr(t, err, "AccessDenied", "iam:CreateServiceLinkedRole")
	r, err := alice.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("mrk.kms.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	name := "AWSServiceRoleForKeyManagementServiceMultiRegionKeys"
	if *r.Role.RoleName != name || *r.Role.Path != "/aws-service-role/mrk.kms.amazonaws.com/" {
		t.Fatalf("service-linked role = %+v", r.Role)
	}
	att, err := root.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil || len(att.AttachedPolicies) != 1 || *att.AttachedPolicies[0].PolicyName != "AWSKeyManagementServiceMultiRegionKeysServiceRolePolicy" {
		t.Fatalf("attached policies = %+v, %v", att, err)
	}
	_, err = root.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trustPolicy(acct))})
	apiErr(t, err, "UnmodifiableEntity", "Cannot perform the operation on the protected role '"+name+"' - this role is only modifiable by AWS")
	_, err = root.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
	apiErr(t, err, "UnmodifiableEntity", "")
	if _, err := root.iam.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: aws.String(name), Description: aws.String("mine")}); err != nil {
		t.Fatalf("the description of a service-linked role is editable: %v", err)
	}
	// Only the service principal can assume it.
	putUserPolicy(t, root, "alice", "assume", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("xx")})
	apiErr(t, err, "AccessDenied", "sts:AssumeRole")

	del, err := root.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := root.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId})
	if err != nil || st.Status != iamtypes.DeletionTaskStatusTypeSucceeded {
		t.Fatalf("deletion status = %+v, %v", st, err)
	}
	_, err = root.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	apiErr(t, err, "NoSuchEntity", "")
}

func TestOrganizationAccounts(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	_, err := root.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	apiErr(t, err, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
	org, err := root.orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	if err != nil || *org.Organization.MasterAccountId != acct || !strings.HasPrefix(*org.Organization.Id, "o-") {
		t.Fatalf("CreateOrganization = %+v, %v", org, err)
	}
	ca, err := root.orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil || ca.CreateAccountStatus.AccountId == nil {
		t.Fatalf("CreateAccount = %+v, %v", ca, err)
	}
	newAcct := *ca.CreateAccountStatus.AccountId
	st, err := root.orgs.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: ca.CreateAccountStatus.Id})
	if err != nil || string(st.CreateAccountStatus.State) != "SUCCEEDED" || *st.CreateAccountStatus.AccountId != newAcct {
		t.Fatalf("DescribeCreateAccountStatus = %+v, %v", st, err)
	}
	list, err := root.orgs.ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil || len(list.Accounts) != 2 {
		t.Fatalf("ListAccounts = %+v, %v", list, err)
	}

	// The management account reaches the new one through its access role:
	// an administrator of the management account assumes it.
	admin := newUser(t, srv, root, "admin")
	if _, err := root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	out, err := admin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + newAcct + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("setup")})
	if err != nil {
		t.Fatal(err)
	}
	member := clientsFor(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	who, err := member.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Account != newAcct {
		t.Fatalf("GetCallerIdentity in the member account = %+v, %v", who, err)
	}
	// With AdministratorAccess there, the session manages that account's IAM.
	if _, err := member.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")}); err != nil {
		t.Fatalf("CreateUser in the member account: %v", err)
	}
	if u, err := member.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ops")}); err != nil || !strings.Contains(*u.User.Arn, newAcct) {
		t.Fatalf("GetUser in the member account = %+v, %v", u, err)
	}
	// A user without a policy in the management account cannot assume it.
	nobody := newUser(t, srv, root, "nobody")
	_, err = nobody.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + newAcct + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("xx")})
	apiErr(t, err, "AccessDenied", "sts:AssumeRole")
}

func TestIAMTags(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	if _, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	tag := func(k, v string) iamtypes.Tag { return iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := root.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("tagged"), Tags: []iamtypes.Tag{tag("team", "kms"), tag("env", "dev")}}); err != nil {
		t.Fatal(err)
	}
	// Tag keys are case-insensitive in IAM: Team replaces team.
	if _, err := root.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("tagged"), Tags: []iamtypes.Tag{tag("Team", "iam")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("tagged"), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	got, err := root.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("tagged")})
	if err != nil || len(got.Tags) != 1 || *got.Tags[0].Key != "Team" || *got.Tags[0].Value != "iam" {
		t.Fatalf("ListUserTags = %+v, %v; want Team=iam", got, err)
	}
	_, err = root.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("tagged"), Tags: []iamtypes.Tag{tag("aws:x", "1")}})
	apiErr(t, err, "InvalidInput", "aws:")
	_, err = root.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("none"), Tags: []iamtypes.Tag{tag("a", "b")}})
	apiErr(t, err, "NoSuchEntity", "The role with name none cannot be found.")
	if _, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r1"), AssumeRolePolicyDocument: aws.String(trustPolicy(acct))}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r1"), Tags: []iamtypes.Tag{tag("a", "b")}}); err != nil {
		t.Fatal(err)
	}
	rt, err := root.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("r1")})
	if err != nil || len(rt.Tags) != 1 || *rt.Tags[0].Key != "a" {
		t.Fatalf("ListRoleTags = %+v, %v", rt, err)
	}
}

// GetAccessKeyLastUsed and GetRole's RoleLastUsed report use, and it
// survives a restart.
func TestLastUsed(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	if _, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	k, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u")})
	if err != nil {
		t.Fatal(err)
	}
	lu, err := root.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKey.AccessKeyId})
	if err != nil || lu.AccessKeyLastUsed.LastUsedDate != nil || *lu.AccessKeyLastUsed.ServiceName != "N/A" {
		t.Fatalf("never used key: %+v, %v", lu.AccessKeyLastUsed, err)
	}
	u := clientsFor(srv, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	u.kms.ListKeys(ctx, nil) // denied, but the key was used
	lu, err = root.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKey.AccessKeyId})
	if err != nil || lu.AccessKeyLastUsed.LastUsedDate == nil || *lu.AccessKeyLastUsed.ServiceName != "kms" || *lu.AccessKeyLastUsed.Region != "us-east-1" {
		t.Fatalf("used key: %+v, %v", lu.AccessKeyLastUsed, err)
	}
	srv.Stop(t)
	srv2 := testserver.Start(t, testserver.Options{DataDir: dir})
	root2 := clientsFor(srv2, testserver.AccessKey, testserver.SecretKey, "")
	lu, err = root2.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKey.AccessKeyId})
	if err != nil || lu.AccessKeyLastUsed.LastUsedDate == nil || *lu.AccessKeyLastUsed.ServiceName != "kms" {
		t.Fatalf("after restart: %+v, %v", lu.AccessKeyLastUsed, err)
	}
}
