package e2e

// The proof of KMS authorization: real signed requests from users, groups,
// roles and their sessions, and another account's principals, each case
// citing the rule of the AWS documentation (../shared/docs) it checks.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/trentkms/trent/internal/testserver"
)

// authzCase is one authorization decision: run makes the request (and any
// setup it needs) and returns the request's error.
type authzCase struct {
	name string
	rule string // the documentation file and section the case checks
	run  func(t *testing.T) error
	code string // "" means the request must succeed
	// msg is a substring of the error message; a message starting with
	// "User: " must be the whole message, word for word.
	msg string
}

func runAuthz(t *testing.T, cases []authzCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rule == "" {
				t.Fatal("case cites no documentation rule")
			}
			err := tt.run(t)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("%v\nrule: %s", err, tt.rule)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want %s\nrule: %s", err, tt.code, tt.rule)
			}
			exact := strings.HasPrefix(tt.msg, "User: ")
			if ae.ErrorCode() != tt.code || (exact && ae.ErrorMessage() != tt.msg) || !strings.Contains(ae.ErrorMessage(), tt.msg) {
				t.Fatalf("err = %s: %q\nwant %s: %q\nrule: %s", ae.ErrorCode(), ae.ErrorMessage(), tt.code, tt.msg, tt.rule)
			}
		})
	}
}

// Why an AccessDeniedException denies, in AWS's words.
const (
	noIdentity = iota
	noResource
	noBoundary
	noSession
	denyIdentity
	denyResource
	denyBoundary
	denySession
)

// denied is AWS's AccessDeniedException message.
func denied(caller, action, resource string, why int) string {
	head := "User: " + caller + " is not authorized to perform: " + action + " on resource: " + resource
	switch why {
	case noResource:
		return head + " because no resource-based policy allows the " + action + " action"
	case noBoundary:
		return head + " because no permissions boundary allows the " + action + " action"
	case noSession:
		return head + " because no session policy allows the " + action + " action"
	case denyIdentity:
		return head + " with an explicit deny in an identity-based policy"
	case denyResource:
		return head + " with an explicit deny in a resource-based policy"
	case denyBoundary:
		return head + " with an explicit deny in a permissions boundary"
	case denySession:
		return head + " with an explicit deny in a session policy"
	}
	return head + " because no identity-based policy allows the " + action + " action"
}

// Policy documents, written as JSON text so that each case shows the policy
// as a reader of the AWS docs would write it.

// js is one JSON string, or an array of several.
func js(v ...string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ",") + "]"
}

// principal is a Principal (or NotPrincipal) element naming AWS principals.
func principal(arns ...string) string { return `{"AWS":` + js(arns...) + `}` }

// stmt is a statement; principal and cond are raw JSON, "" leaves them out.
func stmt(effect, princ, action, resource, cond string) string {
	s := `{"Effect":"` + effect + `"`
	if princ != "" {
		s += `,"Principal":` + princ
	}
	s += `,"Action":` + action + `,"Resource":` + resource
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// allowAll is an identity policy allowing actions on resource "*" under cond.
func allowAll(cond string, actions ...string) string {
	return doc(stmt("Allow", "", js(actions...), js("*"), cond))
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }
func userARN(account, name string) string {
	return "arn:aws:iam::" + account + ":user/" + name
}
func roleARN(account, name string) string {
	return "arn:aws:iam::" + account + ":role/" + name
}
func sessionARN(account, role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

// rootStmt is the default key policy's first statement: it allows the
// account and so enables IAM policies (key-policy-default.md).
var rootStmt = stmt("Allow", principal(rootARN(acct)), js("kms:*"), js("*"), "")

// authzEnv is one server with its root principal and a user allowed to
// assume the test roles.
type authzEnv struct {
	t       *testing.T
	srv     *testserver.Server
	ctx     context.Context
	root    clients
	assumer clients
}

func newAuthzEnv(t *testing.T) *authzEnv {
	srv := testserver.Start(t, testserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &authzEnv{t: t, srv: srv, ctx: ctx, root: clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")}
	e.assumer = e.user("assumer", nil, allowAll("", "sts:AssumeRole", "sts:TagSession"))
	return e
}

func (e *authzEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// user creates an IAM user in the account admin manages, with tags and
// inline policies, and returns its clients.
func (e *authzEnv) userIn(admin *iam.Client, name string, tags map[string]string, policies ...string) clients {
	e.t.Helper()
	in := &iam.CreateUserInput{UserName: aws.String(name)}
	for k, v := range tags {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := admin.CreateUser(e.ctx, in)
	e.must(err)
	for i, p := range policies {
		_, err := admin.PutUserPolicy(e.ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(p)})
		e.must(err)
	}
	k, err := admin.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	e.must(err)
	return clientsFor(e.srv, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
}

// userKeys gives an existing user of the account an access key.
func (e *authzEnv) userKeys(name string) clients {
	e.t.Helper()
	k, err := e.root.iam.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	e.must(err)
	return clientsFor(e.srv, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
}

func (e *authzEnv) user(name string, tags map[string]string, policies ...string) clients {
	e.t.Helper()
	return e.userIn(e.root.iam, name, tags, policies...)
}

// managed creates a customer managed policy and returns its ARN.
func (e *authzEnv) managed(name, document string) *string {
	e.t.Helper()
	p, err := e.root.iam.CreatePolicy(e.ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(document)})
	e.must(err)
	return p.Policy.Arn
}

// role creates a role the assumer may assume, with tags, an optional
// permissions boundary and inline policies.
func (e *authzEnv) role(name string, tags map[string]string, boundary *string, policies ...string) string {
	e.t.Helper()
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy(acct)), PermissionsBoundary: boundary}
	for k, v := range tags {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	r, err := e.root.iam.CreateRole(e.ctx, in)
	e.must(err)
	for i, p := range policies {
		_, err := e.root.iam.PutRolePolicy(e.ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(p)})
		e.must(err)
	}
	return *r.Role.Arn
}

// session assumes a role as the assumer, with an optional session policy and
// session tags.
func (e *authzEnv) session(role, name, policy string, tags map[string]string) clients {
	e.t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String(name)}
	if policy != "" {
		in.Policy = aws.String(policy)
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := e.assumer.sts.AssumeRole(e.ctx, in)
	e.must(err)
	c := out.Credentials
	return clientsFor(e.srv, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

// key creates a key as root; a policy given is set with the lockout safety
// check bypassed, so that policies locking root out can be tested.
func (e *authzEnv) key(policy string, in *kms.CreateKeyInput) *types.KeyMetadata {
	e.t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	if policy != "" {
		in.Policy, in.BypassPolicyLockoutSafetyCheck = aws.String(policy), true
	}
	return newKey(e.t, e.root.kms, in)
}

func (e *authzEnv) alias(name string, k *types.KeyMetadata) {
	e.t.Helper()
	_, err := e.root.kms.CreateAlias(e.ctx, &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: k.KeyId})
	e.must(err)
}

func (e *authzEnv) encrypt(k *types.KeyMetadata, ec map[string]string) []byte {
	e.t.Helper()
	out, err := e.root.kms.Encrypt(e.ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("secret"), EncryptionContext: ec})
	e.must(err)
	return out.CiphertextBlob
}

// Request shorthands, returning only the error.

func (e *authzEnv) enc(c clients, keyID string, ec map[string]string) error {
	_, err := c.kms.Encrypt(e.ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("data"), EncryptionContext: ec})
	return err
}

func (e *authzEnv) dec(c clients, blob []byte, keyID *string, ec map[string]string) error {
	_, err := c.kms.Decrypt(e.ctx, &kms.DecryptInput{CiphertextBlob: blob, KeyId: keyID, EncryptionContext: ec})
	return err
}

func (e *authzEnv) describe(c clients, keyID string) error {
	_, err := c.kms.DescribeKey(e.ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	return err
}

func (e *authzEnv) gdk(c clients, keyID string, ec map[string]string) error {
	_, err := c.kms.GenerateDataKey(e.ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	return err
}

func (e *authzEnv) putPolicy(c clients, keyID, policy string, bypass bool) error {
	_, err := c.kms.PutKeyPolicy(e.ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyID), Policy: aws.String(policy), BypassPolicyLockoutSafetyCheck: bypass})
	return err
}

func (e *authzEnv) grant(c clients, keyID, grantee string, ops []types.GrantOperation, cons *types.GrantConstraints, retiring *string, name *string) (*kms.CreateGrantOutput, error) {
	return c.kms.CreateGrant(e.ctx, &kms.CreateGrantInput{KeyId: aws.String(keyID), GranteePrincipal: aws.String(grantee), Operations: ops, Constraints: cons, RetiringPrincipal: retiring, Name: name})
}

func ops(o ...types.GrantOperation) []types.GrantOperation { return o }

// TestAuthzKeyPolicyAndIAM: how the key policy, IAM policies, boundaries and
// session policies combine for principals of the key's account.
func TestAuthzKeyPolicyAndIAM(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	crypto := allowAll("", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:ReEncrypt*")

	// Identities.
	noPolicy := e.user("nopolicy", nil)
	iamAllowed := e.user("iamallowed", nil, crypto)
	iamDenied := e.user("iamdenied", nil, allowAll("", "kms:*"), doc(stmt("Deny", "", js("kms:Decrypt"), js("*"), "")))
	_, err := e.root.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("crypto")})
	e.must(err)
	_, err = e.root.iam.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("crypto"), PolicyName: aws.String("enc"), PolicyDocument: aws.String(allowAll("", "kms:Encrypt"))})
	e.must(err)
	grouped := e.user("grouped", nil)
	_, err = e.root.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("crypto"), UserName: aws.String("grouped")})
	e.must(err)
	keyAdmin := e.user("keyadmin", nil)
	narrow := e.managed("OnlyDescribe", allowAll("", "kms:DescribeKey"))
	denyEnc := e.managed("DenyEncrypt", doc(stmt("Allow", "", js("kms:*"), js("*"), ""), stmt("Deny", "", js("kms:Encrypt"), js("*"), "")))
	bounded := e.user("bounded", nil, crypto)
	_, err = e.root.iam.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("bounded"), PermissionsBoundary: narrow})
	e.must(err)
	boundDeny := e.user("bounddeny", nil, crypto)
	_, err = e.root.iam.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("bounddeny"), PermissionsBoundary: denyEnc})
	e.must(err)
	appRole := e.role("App", nil, nil, crypto)
	bareRole := e.role("Bare", nil, nil)
	namedRole := e.role("Named", nil, nil)
	boundedRole := e.role("BoundedRole", nil, narrow, crypto)
	app := e.session(appRole, "s1", "", nil)
	appNarrow := e.session(appRole, "narrow", allowAll("", "kms:DescribeKey"), nil)
	appDenySess := e.session(appRole, "denying", doc(stmt("Allow", "", js("kms:*"), js("*"), ""), stmt("Deny", "", js("kms:Encrypt"), js("*"), "")), nil)
	bare := e.session(bareRole, "s1", "", nil)
	named1 := e.session(namedRole, "one", "", nil)
	named2 := e.session(namedRole, "two", "", nil)
	namedNarrow := e.session(namedRole, "narrow", allowAll("", "kms:DescribeKey"), nil)
	boundedSess := e.session(boundedRole, "s1", "", nil)

	// Keys.
	def := e.key("", nil) // the default key policy
	// A key policy without the account statement: IAM has no effect on it.
	adminOnly := e.key(doc(stmt("Allow", principal(userARN(acct, "keyadmin")), js("kms:*"), js("*"), "")), nil)
	// A key policy naming a role, a session, and a user with a boundary.
	named := e.key(doc(rootStmt,
		stmt("Allow", principal(roleARN(acct, "Named")), js("kms:Encrypt", "kms:DescribeKey"), js("*"), ""),
		stmt("Allow", principal(sessionARN(acct, "Bare", "s1")), js("kms:Encrypt"), js("*"), ""),
		stmt("Allow", principal(userARN(acct, "bounded"), sessionARN(acct, "Named", "narrow")), js("kms:Encrypt", "kms:GenerateDataKey"), js("*"), "")), nil)
	// An explicit deny in the key policy for iamallowed.
	denying := e.key(doc(rootStmt, stmt("Deny", principal(userARN(acct, "iamallowed")), js("kms:Encrypt", "kms:Decrypt"), js("*"), "")), nil)
	// NotPrincipal: deny Encrypt to everyone but root and grouped.
	notPrincipal := e.key(doc(rootStmt, `{"Effect":"Deny","NotPrincipal":`+principal(rootARN(acct), userARN(acct, "grouped"))+`,"Action":"kms:Encrypt","Resource":"*"}`), nil)
	// Principal "*" limited to the account by kms:CallerAccount, as AWS
	// managed keys' policies are.
	anyone := e.key(doc(rootStmt, stmt("Allow", `"*"`, js("kms:Encrypt", "kms:DescribeKey"), js("*"), `{"StringEquals":{"kms:CallerAccount":"`+acct+`"}}`)), nil)
	other := e.key("", nil)

	blobDef := e.encrypt(def, nil)
	blobAdminOnly, err := keyAdmin.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: adminOnly.KeyId, Plaintext: []byte("x")})
	e.must(err)
	blobOther := e.encrypt(other, nil)
	scoped := e.user("scoped", nil, doc(stmt("Allow", "", js("kms:Encrypt", "kms:Decrypt"), js(*def.Arn), "")))
	_, err = e.grant(e.root, *denying.KeyId, userARN(acct, "iamallowed"), ops(types.GrantOperationEncrypt), nil, nil, nil)
	e.must(err)

	u := func(n string) string { return userARN(acct, n) }
	cases := []authzCase{
		{name: "default policy, IAM allow: Encrypt", rule: "key-policy-default.md#key-policy-default-allow-root-enable-iam: the account statement makes IAM policies effective",
			run: func(t *testing.T) error { return e.enc(iamAllowed, *def.KeyId, nil) }},
		{name: "default policy, IAM allow: Decrypt", rule: "key-policy-default.md#key-policy-default-allow-root-enable-iam",
			run: func(t *testing.T) error { return e.dec(iamAllowed, blobDef, nil, nil) }},
		{name: "default policy, no IAM policy", rule: "policy-evaluation.md#example-no-iam: the key policy delegates to IAM and no IAM policy allows",
			run:  func(t *testing.T) error { return e.enc(noPolicy, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(u("nopolicy"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "default policy, IAM explicit deny", rule: "iam-user-guide reference_policies_evaluation-logic.md: an explicit deny in any policy overrides any allow",
			run:  func(t *testing.T) error { return e.dec(iamDenied, blobDef, nil, nil) },
			code: "AccessDeniedException", msg: denied(u("iamdenied"), "kms:Decrypt", *def.Arn, denyIdentity)},
		{name: "group policy applies to its member", rule: "iam-policies.md: IAM policies attached to users, groups and roles; reference_policies_evaluation-logic.md: a user's policies include its groups'",
			run: func(t *testing.T) error { return e.enc(grouped, *def.KeyId, nil) }},
		{name: "root with the default policy", rule: "key-policy-default.md#key-policy-default-allow-root-enable-iam: gives the account root full access",
			run: func(t *testing.T) error { return e.describe(e.root, *def.KeyId) }},
		{name: "no account statement: IAM allow has no effect", rule: "key-policies.md: unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a KMS key",
			run:  func(t *testing.T) error { return e.enc(iamAllowed, *adminOnly.Arn, nil) },
			code: "AccessDeniedException", msg: denied(u("iamallowed"), "kms:Encrypt", *adminOnly.Arn, noResource)},
		{name: "no account statement: Decrypt message word for word", rule: "key-policies.md; troubleshooting AccessDenied: 'because no resource-based policy allows the kms:Decrypt action'",
			run:  func(t *testing.T) error { return e.dec(iamAllowed, blobAdminOnly.CiphertextBlob, nil, nil) },
			code: "AccessDeniedException", msg: denied(u("iamallowed"), "kms:Decrypt", *adminOnly.Arn, noResource)},
		{name: "no account statement: even root is locked out", rule: "key-policy-default.md#key-policy-default-allow-root-enable-iam: without it the key can become unmanageable; root has only what the key policy gives",
			run: func(t *testing.T) error {
				_, err := e.root.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: adminOnly.KeyId})
				return err
			},
			code: "AccessDeniedException", msg: denied(rootARN(acct), "kms:ScheduleKeyDeletion", *adminOnly.Arn, noResource)},
		{name: "no account statement: the named user needs no IAM policy", rule: "key-policy-overview.md#key-policy-elements: Principal; reference_policies_evaluation-logic.md: a resource policy naming an IAM user suffices in its account",
			run: func(t *testing.T) error { return e.dec(keyAdmin, blobAdminOnly.CiphertextBlob, nil, nil) }},
		{name: "key policy naming a role covers its sessions", rule: "iam-user-guide reference_policies_elements_principal.md: a role principal covers the role's sessions",
			run: func(t *testing.T) error { return e.enc(named1, *named.KeyId, nil) }},
		{name: "key policy naming a role: every session", rule: "iam-user-guide reference_policies_elements_principal.md#principal-roles",
			run: func(t *testing.T) error { return e.describe(named2, *named.Arn) }},
		{name: "key policy naming a role: an action it does not allow", rule: "key-policies.md: the key policy and IAM must allow; a role session without IAM policy",
			run:  func(t *testing.T) error { return e.gdk(named1, *named.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "Named", "one"), "kms:GenerateDataKey", *named.Arn, noIdentity)},
		{name: "key policy naming a session ARN: that session", rule: "iam-user-guide reference_policies_elements_principal.md#principal-role-session",
			run: func(t *testing.T) error { return e.enc(bare, *named.KeyId, nil) }},
		{name: "key policy naming a session ARN: not other actions", rule: "iam-user-guide reference_policies_elements_principal.md#principal-role-session; caller shown as the assumed-role ARN",
			run:  func(t *testing.T) error { return e.describe(bare, *named.KeyId) },
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "Bare", "s1"), "kms:DescribeKey", *named.Arn, noIdentity)},
		{name: "key policy naming a role: the session policy still limits", rule: "iam-user-guide access_policies_boundaries.md: resource-based policies that grant permissions to an IAM role ARN are limited by an implicit deny in a permissions boundary or session policy",
			run: func(t *testing.T) error {
				c := e.session(roleARN(acct, "Named"), "limited", allowAll("", "kms:DescribeKey"), nil)
				return e.enc(c, *named.KeyId, nil)
			},
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "Named", "limited"), "kms:Encrypt", *named.Arn, noSession)},
		{name: "key policy naming a session ARN: the session policy does not limit", rule: "iam-user-guide access_policies_boundaries.md: permissions granted directly to a session are not limited by an implicit deny in an identity-based policy, a permissions boundary, or session policy",
			run: func(t *testing.T) error { return e.gdk(namedNarrow, *named.KeyId, nil) }},
		{name: "key policy naming a user: its boundary does not limit", rule: "iam-user-guide access_policies_boundaries.md: resource-based policies that grant permissions to an IAM user ARN are not limited by an implicit deny in an identity-based policy or permissions boundary",
			run: func(t *testing.T) error { return e.enc(bounded, *named.KeyId, nil) }},
		{name: "boundary limits an IAM allow", rule: "iam-user-guide access_policies_boundaries.md: effective permissions are the intersection of identity policies and the boundary",
			run:  func(t *testing.T) error { return e.enc(bounded, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(u("bounded"), "kms:Encrypt", *def.Arn, noBoundary)},
		{name: "boundary allows what both allow", rule: "iam-user-guide access_policies_boundaries.md",
			run: func(t *testing.T) error { return e.describe(bounded, *def.KeyId) }},
		{name: "explicit deny in a boundary", rule: "iam-user-guide reference_policies_evaluation-logic.md: an explicit deny in a permissions boundary",
			run:  func(t *testing.T) error { return e.enc(boundDeny, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(u("bounddeny"), "kms:Encrypt", *def.Arn, denyBoundary)},
		{name: "role boundary limits its sessions", rule: "iam-user-guide access_policies_boundaries.md: boundaries for roles",
			run:  func(t *testing.T) error { return e.enc(boundedSess, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "BoundedRole", "s1"), "kms:Encrypt", *def.Arn, noBoundary)},
		{name: "role session with the role's IAM allow", rule: "iam-policies.md; key-policy-default.md#key-policy-default-allow-root-enable-iam",
			run: func(t *testing.T) error { return e.enc(app, *def.KeyId, nil) }},
		{name: "role session without IAM allow shows the assumed-role ARN", rule: "policy-evaluation.md#example-no-iam; id_roles_terms-and-concepts.md: the caller of a session is the assumed-role ARN",
			run:  func(t *testing.T) error { return e.enc(bare, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "Bare", "s1"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "session policy limits a role session", rule: "iam-user-guide reference_policies_evaluation-logic.md: session policies: if a session policy is present and does not allow the requested action, the request is implicitly denied",
			run:  func(t *testing.T) error { return e.enc(appNarrow, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "App", "narrow"), "kms:Encrypt", *def.Arn, noSession)},
		{name: "session policy allows what both allow", rule: "iam-user-guide reference_policies_evaluation-logic.md: session policies",
			run: func(t *testing.T) error { return e.describe(appNarrow, *def.KeyId) }},
		{name: "explicit deny in a session policy", rule: "iam-user-guide reference_policies_evaluation-logic.md: deny evaluation covers session policies",
			run:  func(t *testing.T) error { return e.enc(appDenySess, *def.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "App", "denying"), "kms:Encrypt", *def.Arn, denySession)},
		{name: "explicit deny in the key policy beats an IAM allow", rule: "policy-evaluation.md; iam-user-guide reference_policies_evaluation-logic.md: explicit deny in a resource-based policy",
			run:  func(t *testing.T) error { return e.enc(iamAllowed, *denying.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(u("iamallowed"), "kms:Encrypt", *denying.Arn, denyResource)},
		{name: "explicit deny in the key policy beats a grant", rule: "grants.md#about-grants: a grant can allow access to a KMS key, but not deny access; a deny in the key policy still applies",
			run:  func(t *testing.T) error { return e.enc(iamAllowed, *denying.Arn, nil) },
			code: "AccessDeniedException", msg: denied(u("iamallowed"), "kms:Encrypt", *denying.Arn, denyResource)},
		{name: "NotPrincipal deny hits everyone not listed", rule: "iam-user-guide reference_policies_elements_notprincipal.md: Deny with NotPrincipal denies all principals except those named",
			run:  func(t *testing.T) error { return e.enc(iamAllowed, *notPrincipal.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(u("iamallowed"), "kms:Encrypt", *notPrincipal.Arn, denyResource)},
		{name: "NotPrincipal deny spares the principals listed", rule: "iam-user-guide reference_policies_elements_notprincipal.md",
			run: func(t *testing.T) error { return e.enc(grouped, *notPrincipal.KeyId, nil) }},
		{name: "Principal * with kms:CallerAccount: a user of the account without IAM policy", rule: "conditions-kms.md#conditions-kms-caller-account: allow all identities in an account; reference_policies_elements_principal.md: Principal * in a resource-based policy",
			run: func(t *testing.T) error { return e.enc(noPolicy, *anyone.KeyId, nil) }},
		{name: "Principal * with kms:CallerAccount: a role session", rule: "conditions-kms.md#conditions-kms-caller-account",
			run: func(t *testing.T) error { return e.describe(bare, *anyone.Arn) }},
		{name: "IAM Resource scoped to a key ARN: that key", rule: "cmks-in-iam-policies.md: specify KMS keys by key ARN in IAM policies",
			run: func(t *testing.T) error { return e.enc(scoped, *def.Arn, nil) }},
		{name: "IAM Resource scoped to a key ARN: another key", rule: "cmks-in-iam-policies.md",
			run:  func(t *testing.T) error { return e.enc(scoped, *other.KeyId, nil) },
			code: "AccessDeniedException", msg: denied(u("scoped"), "kms:Encrypt", *other.Arn, noIdentity)},
		{name: "Decrypt with KeyId of the allowed key and another key's ciphertext", rule: "API Decrypt: KeyId must identify the key used to encrypt; IncorrectKeyException",
			run:  func(t *testing.T) error { return e.dec(scoped, blobOther, def.KeyId, nil) },
			code: "IncorrectKeyException", msg: "The key ID in the request does not identify a CMK that can perform this operation."},
		{name: "Decrypt is authorized on the key in the ciphertext", rule: "iam-policies.md / API Decrypt: the KMS key that encrypted the ciphertext is the resource; permission on another key does not help",
			run:  func(t *testing.T) error { return e.dec(scoped, blobOther, nil, nil) },
			code: "AccessDeniedException", msg: denied(u("scoped"), "kms:Decrypt", *other.Arn, noIdentity)},
		{name: "Decrypt of the allowed key's ciphertext", rule: "cmks-in-iam-policies.md",
			run: func(t *testing.T) error { return e.dec(scoped, blobDef, nil, nil) }},
	}
	runAuthz(t, cases)
}

// TestAuthzPutKeyPolicy: the lockout safety check and the validation of key
// policies, and the docs' service key policies as written.
func TestAuthzPutKeyPolicy(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	admin := e.user("admin", nil)
	bypassDenied := e.user("careful", nil, allowAll("", "kms:*"),
		doc(stmt("Deny", "", js("kms:CreateKey", "kms:PutKeyPolicy"), js("*"), `{"Bool":{"kms:BypassPolicyLockoutSafetyCheck":"true"}}`)))
	adminStmt := stmt("Allow", principal(userARN(acct, "admin")), js("kms:*"), js("*"), "")
	k := e.key(doc(adminStmt), nil)
	bypassed := e.key(doc(adminStmt), nil)
	big := doc(adminStmt, stmt("Allow", principal(rootARN(acct)), js("kms:DescribeKey"), js("*"), `{"StringEquals":{"kms:EncryptionContext:pad":"`+strings.Repeat("p", 33000)+`"}}`))

	cloudTrailStmt := `{
      "Sid": "Allow CloudTrail to encrypt logs",
      "Effect": "Allow",
      "Principal": {
        "Service": "cloudtrail.amazonaws.com"
      },
      "Action": "kms:GenerateDataKey",
      "Resource": "*",
      "Condition": {
        "ArnEquals": {
          "aws:SourceArn": [
            "arn:aws:cloudtrail:us-west-2:111122223333:trail/finance"
          ]
        },
        "StringLike": {
          "kms:EncryptionContext:aws:cloudtrail:arn": [
            "arn:aws:cloudtrail:*:111122223333:trail/*"
          ]
        }
      }
    }`
	trailCtx := map[string]string{"aws:cloudtrail:arn": "arn:aws:cloudtrail:us-west-2:111122223333:trail/finance"}
	trailUser := e.user("trailuser", nil)
	locationStmt := `{
  "Sid": "Allow Amazon Location to create grants on behalf of authorized users",
  "Effect": "Allow",
  "Principal": {
    "AWS": "arn:aws:iam::111122223333:role/LocationTeam"
  },
  "Action": "kms:CreateGrant",
  "Resource": "*",
  "Condition": {
    "StringEquals": {
      "kms:ViaService": "geo.us-west-2.amazonaws.com",
      "kms:CallerAccount": "111122223333",
      "kms:EncryptionContext:aws:geo:arn": "arn:aws:geo:us-west-2:111122223333:tracker/SAMPLE-Tracker"
    }
  }
}`
	e.role("LocationTeam", nil, nil)
	location := e.key(doc(rootStmt), nil)
	locSession := e.session(roleARN(acct, "LocationTeam"), "tracker", "", nil)
	var trailKey *types.KeyMetadata

	cases := []authzCase{
		{name: "lockout: a policy that would lock the caller out", rule: "conditions-kms.md#conditions-kms-bypass-policy-lockout-safety-check: the policy lockout safety check; API PutKeyPolicy",
			run: func(t *testing.T) error {
				return e.putPolicy(admin, *k.KeyId, doc(stmt("Allow", principal(userARN(acct, "admin")), js("kms:Encrypt"), js("*"), "")), false)
			},
			code: "MalformedPolicyDocumentException", msg: "The new key policy will not allow you to update the key policy in the future."},
		{name: "lockout: a policy keeping the caller's PutKeyPolicy", rule: "API PutKeyPolicy: the principal making the request must be allowed kms:PutKeyPolicy by the new policy",
			run: func(t *testing.T) error { return e.putPolicy(admin, *k.KeyId, doc(adminStmt, rootStmt), false) }},
		{name: "lockout: bypassing the check", rule: "API PutKeyPolicy: BypassPolicyLockoutSafetyCheck skips the check",
			run: func(t *testing.T) error {
				return e.putPolicy(admin, *bypassed.KeyId, doc(stmt("Allow", principal(userARN(acct, "admin")), js("kms:Encrypt"), js("*"), "")), true)
			}},
		{name: "lockout: after bypassing, the caller cannot change the policy", rule: "key-policies.md: the key policy alone decides; kms:PutKeyPolicy no longer allowed",
			run:  func(t *testing.T) error { return e.putPolicy(admin, *bypassed.KeyId, doc(adminStmt), true) },
			code: "AccessDeniedException", msg: denied(userARN(acct, "admin"), "kms:PutKeyPolicy", *bypassed.Arn, noResource)},
		{name: "lockout check on CreateKey", rule: "API CreateKey: BypassPolicyLockoutSafetyCheck; key-policy-default.md",
			run: func(t *testing.T) error {
				_, err := e.root.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(doc(stmt("Allow", principal(userARN(acct, "admin")), js("kms:*"), js("*"), "")))})
				return err
			},
			code: "MalformedPolicyDocumentException", msg: "The new key policy will not allow you to update the key policy in the future."},
		{name: "a principal that does not exist", rule: "key-policy-overview.md#key-policy-elements: the principal must exist; MalformedPolicyDocumentException",
			run: func(t *testing.T) error {
				return e.putPolicy(e.root, *k.KeyId, doc(rootStmt, stmt("Allow", principal(userARN(acct, "ghost")), js("kms:Encrypt"), js("*"), "")), false)
			},
			code: "MalformedPolicyDocumentException", msg: "Policy contains a statement with one or more invalid principals."},
		{name: "a policy over 32 KB", rule: "resource-limits.md#key-policy-limit: the maximum length of each key policy document is 32 KB (32,768 bytes)",
			run:  func(t *testing.T) error { return e.putPolicy(e.root, *k.KeyId, big, false) },
			code: "LimitExceededException", msg: ""},
		{name: "kms:BypassPolicyLockoutSafetyCheck denies the bypass", rule: "conditions-kms.md#conditions-kms-bypass-policy-lockout-safety-check",
			run: func(t *testing.T) error {
				_, err := bypassDenied.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(doc(rootStmt)), BypassPolicyLockoutSafetyCheck: true})
				return err
			},
			code: "AccessDeniedException", msg: denied(userARN(acct, "careful"), "kms:CreateKey", "*", denyIdentity)},
		{name: "kms:BypassPolicyLockoutSafetyCheck: without the bypass", rule: "conditions-kms.md#conditions-kms-bypass-policy-lockout-safety-check",
			run: func(t *testing.T) error {
				_, err := bypassDenied.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(doc(rootStmt))})
				return err
			}},
		{name: "the CloudTrail key policy as written is accepted", rule: "key-policy-services.md#least-privilege-source-arn: example key policy for CloudTrail with aws:SourceArn and kms:EncryptionContext",
			run: func(t *testing.T) error {
				out, err := e.root.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(doc(rootStmt, cloudTrailStmt))})
				if err == nil {
					trailKey = out.KeyMetadata
				}
				return err
			}},
		{name: "CloudTrail statement gives IAM principals nothing", rule: "key-policy-services.md#least-privilege-source-arn: the principal is the CloudTrail service principal; aws:SourceArn is present only when a service calls",
			run:  func(t *testing.T) error { return e.gdk(trailUser, *trailKey.KeyId, trailCtx) },
			code: "AccessDeniedException", msg: "because no identity-based policy allows the kms:GenerateDataKey action"},
		{name: "CloudTrail key: root still uses it through the account statement", rule: "key-policy-default.md#key-policy-default-allow-root-enable-iam",
			run: func(t *testing.T) error { return e.gdk(e.root, *trailKey.KeyId, trailCtx) }},
		{name: "the CloudTrail policy alone would lock the account out", rule: "key-policy-services.md#least-privilege-source-arn with key-policy-default.md (lockout safety check)",
			run: func(t *testing.T) error {
				_, err := e.root.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(doc(cloudTrailStmt))})
				return err
			},
			code: "MalformedPolicyDocumentException", msg: "The new key policy will not allow you to update the key policy in the future."},
		{name: "the Amazon Location statement as written is accepted", rule: "key-policy-services.md#least-privilege-encryption-context: example with kms:ViaService, kms:CallerAccount and kms:EncryptionContext",
			run: func(t *testing.T) error {
				return e.putPolicy(e.root, *location.KeyId, doc(rootStmt, locationStmt), false)
			}},
		{name: "Amazon Location statement: a direct CreateGrant is not via the service", rule: "conditions-kms.md#conditions-kms-via-service: kms:ViaService is present only when a service makes the request",
			run: func(t *testing.T) error {
				_, err := e.grant(locSession, *location.Arn, roleARN(acct, "LocationTeam"), ops(types.GrantOperationEncrypt),
					&types.GrantConstraints{EncryptionContextSubset: map[string]string{"aws:geo:arn": "arn:aws:geo:us-west-2:111122223333:tracker/SAMPLE-Tracker"}}, nil, nil)
				return err
			},
			code: "AccessDeniedException", msg: denied(sessionARN(acct, "LocationTeam", "tracker"), "kms:CreateGrant", *location.Arn, noIdentity)},
	}
	runAuthz(t, cases)
}

// TestAuthzConditionKeys: every family of condition keys AWS KMS evaluates,
// in IAM policies under the default key policy (so that IAM decides).
func TestAuthzConditionKeys(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	cond := func(op, key, value string) string { return `{"` + op + `":{"` + key + `":` + value + `}}` }
	p := func(c string, actions ...string) string { return allowAll(c, actions...) }

	// Keys, all with the default key policy.
	def := e.key("", nil)
	tagged := e.key("", &kms.CreateKeyInput{Tags: []types.Tag{{TagKey: aws.String("Project"), TagValue: aws.String("Alpha")}}})
	finance := e.key("", nil)
	e.alias("alias/finance-app", finance)
	rsa := e.key("", &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	ecc := e.key("", &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	hmac := e.key("", &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	deletable, rotatable := e.key("", nil), e.key("", nil)
	// The docs' kms:ReEncryptOnSameKey key policy statement, as written.
	e.user("ExampleUser", nil)
	reencSame := e.key(doc(rootStmt, `{
  "Effect": "Allow",
  "Principal": {
    "AWS": "arn:aws:iam::111122223333:user/ExampleUser"
  },
  "Action": "kms:ReEncrypt*",
  "Resource": "*",
  "Condition": {
    "Bool": {
      "kms:ReEncryptOnSameKey": true
    }
  }
}`), nil)

	// Users and roles, each with the condition under test.
	reqAlias := e.user("reqalias", nil, p(cond("StringEquals", "kms:RequestAlias", `"alias/finance-app"`), "kms:Encrypt"))
	resAlias := e.user("resalias", nil, p(cond("ForAnyValue:StringLike", "kms:ResourceAliases", `"alias/finance-*"`), "kms:Encrypt"))
	resTag := e.user("restag", nil, p(cond("StringEquals", "aws:ResourceTag/Project", `"Alpha"`), "kms:Encrypt"))
	tagger := e.user("tagger", nil, p(`{"StringEquals":{"aws:RequestTag/Owner":"${aws:username}"},"ForAllValues:StringEquals":{"aws:TagKeys":["Owner"]}}`, "kms:CreateKey", "kms:TagResource"))
	ecUser := e.user("ecuser", nil, p(cond("StringEquals", "kms:EncryptionContext:Department", `"IT"`), "kms:Encrypt", "kms:Decrypt"))
	ecAll := e.user("ecall", nil, p(cond("ForAllValues:StringEquals", "kms:EncryptionContextKeys", `["A","B"]`), "kms:Encrypt"))
	ecAny := e.user("ecany", nil, p(cond("ForAnyValue:StringEquals", "kms:EncryptionContextKeys", `"AppName"`), "kms:GenerateDataKey"))
	algUser := e.user("alguser", nil, p(cond("StringEquals", "kms:EncryptionAlgorithm", `"RSAES_OAEP_SHA_256"`), "kms:Encrypt"))
	specUser := e.user("specuser", nil, p(cond("StringEquals", "kms:KeySpec", `"ECC_NIST_P256"`), "kms:DescribeKey"))
	usageUser := e.user("usageuser", nil, p(cond("StringEquals", "kms:KeyUsage", `"GENERATE_VERIFY_MAC"`), "kms:DescribeKey"))
	creator := e.user("creator", nil, p(`{"StringEquals":{"kms:KeySpec":"SYMMETRIC_DEFAULT","kms:KeyUsage":"ENCRYPT_DECRYPT","kms:KeyOrigin":"AWS_KMS"}}`, "kms:CreateKey"))
	callerAcct := e.user("calleracct", nil, p(cond("StringEquals", "kms:CallerAccount", `"`+acct+`"`), "kms:Encrypt"))
	grantOps := e.user("grantops", nil, p(cond("ForAllValues:StringEquals", "kms:GrantOperations", `["Encrypt","Decrypt"]`), "kms:CreateGrant"))
	worker := e.role("Worker", nil, nil, p(cond("ArnEquals", "aws:PrincipalArn", `"`+roleARN(acct, "Worker")+`"`), "kms:Encrypt"))
	granteeP := e.user("granteep", nil, p(cond("StringEquals", "kms:GranteePrincipal", `"`+worker+`"`), "kms:CreateGrant"))
	forAWS := e.user("forawsres", nil, p(cond("Bool", "kms:GrantIsForAWSResource", `"true"`), "kms:CreateGrant"))
	constraint := e.user("constraint", nil, p(cond("StringEquals", "kms:GrantConstraintType", `"EncryptionContextEquals"`), "kms:CreateGrant"))
	deleter := e.user("deleter", nil, p(cond("NumericGreaterThanEquals", "kms:ScheduleKeyDeletionPendingWindowInDays", `"30"`), "kms:ScheduleKeyDeletion"))
	rotator := e.user("rotator", nil, p(cond("NumericLessThanEquals", "kms:RotationPeriodInDays", `"180"`), "kms:EnableKeyRotation"))
	exampleUser := e.userKeys("ExampleUser")
	signer := e.user("signer", nil, p(`{"StringEquals":{"kms:SigningAlgorithm":"ECDSA_SHA_256","kms:MessageType":"RAW"}}`, "kms:Sign"))
	mac256 := e.user("mac256", nil, p(cond("StringEquals", "kms:MacAlgorithm", `"HMAC_SHA_256"`), "kms:GenerateMac"))
	mac512 := e.user("mac512", nil, p(cond("StringEquals", "kms:MacAlgorithm", `"HMAC_SHA_512"`), "kms:GenerateMac"))
	teamPolicy := p(cond("StringEquals", "aws:PrincipalTag/team", `"blue"`), "kms:Encrypt")
	blue := e.user("blue", map[string]string{"team": "blue"}, teamPolicy)
	red := e.user("red", map[string]string{"team": "red"}, teamPolicy)
	teamRole := e.role("Team", map[string]string{"team": "red"}, nil, teamPolicy)
	arnUser := e.user("arnuser", nil, p(cond("ArnEquals", "aws:PrincipalArn", `"`+roleARN(acct, "Worker")+`"`), "kms:Encrypt"))
	typePolicy := p(cond("StringEquals", "aws:PrincipalType", `"User"`), "kms:Encrypt")
	typed := e.user("typed", nil, typePolicy)
	typedRole := e.role("Typed", nil, nil, typePolicy)
	carol := e.user("carol", nil, p(cond("StringEquals", "kms:EncryptionContext:user", `"${aws:username}"`), "kms:Encrypt"))
	dave := e.user("dave", nil, p(cond("StringEquals", "aws:username", `"dave"`), "kms:Encrypt"))
	daveRole := e.role("Dave", nil, nil, p(cond("StringEquals", "aws:username", `"dave"`), "kms:Encrypt"))
	uidRole := e.role("Uid", nil, nil, p(cond("StringLike", "aws:userid", `"*:uid-sess"`), "kms:Encrypt"))
	principalAcct := e.user("principalacct", nil, p(cond("StringEquals", "aws:PrincipalAccount", `"`+acct+`"`), "kms:Encrypt"))
	fromHere := e.user("fromhere", nil, p(cond("IpAddress", "aws:SourceIp", `"127.0.0.1/32"`), "kms:Encrypt"))
	fromElsewhere := e.user("fromelsewhere", nil, p(cond("NotIpAddress", "aws:SourceIp", `"127.0.0.0/8"`), "kms:Encrypt"))
	tlsOnly := e.user("tlsonly", nil, p("", "kms:*"), doc(stmt("Deny", "", js("kms:*"), js("*"), cond("Bool", "aws:SecureTransport", `"false"`))))
	after := e.user("after", nil, p(cond("DateGreaterThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`), "kms:Encrypt"))
	before := e.user("before", nil, p(cond("DateLessThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`), "kms:Encrypt"))
	epoch := e.user("epoch", nil, p(cond("NumericGreaterThan", "aws:EpochTime", `"1577836800"`), "kms:Encrypt"))
	mfaPolicy := p(cond("BoolIfExists", "aws:MultiFactorAuthPresent", `"true"`), "kms:Encrypt")
	mfaUser := e.user("mfauser", nil, mfaPolicy)
	mfaRole := e.role("Mfa", nil, nil, mfaPolicy)
	issuedPolicy := p(cond("DateGreaterThan", "aws:TokenIssueTime", `"2020-01-01T00:00:00Z"`), "kms:Encrypt")
	issuedRole := e.role("Issued", nil, nil, issuedPolicy)
	issuedUser := e.user("issueduser", nil, issuedPolicy)
	erin := e.user("erin", nil, doc(
		stmt("Allow", "", js("kms:CreateAlias"), js("arn:aws:kms:*:"+acct+":alias/${aws:username}-*"), ""),
		stmt("Allow", "", js("kms:CreateAlias"), js("arn:aws:kms:*:"+acct+":key/*"), "")))

	workerSess := e.session(worker, "w1", "", nil)
	blueSess := e.session(teamRole, "blue", "", map[string]string{"team": "blue"})
	redSess := e.session(teamRole, "plain", "", nil)
	typedSess := e.session(typedRole, "t1", "", nil)
	daveSess := e.session(daveRole, "dave", "", nil)
	uidSess := e.session(uidRole, "uid-sess", "", nil)
	uidOther := e.session(uidRole, "other-sess", "", nil)
	mfaSess := e.session(mfaRole, "m1", "", nil)
	issuedSess := e.session(issuedRole, "i1", "", nil)
	reencBlob := e.encrypt(reencSame, nil)

	u := func(n string) string { return userARN(acct, n) }
	tag := func(k, v string) []types.Tag { return []types.Tag{{TagKey: aws.String(k), TagValue: aws.String(v)}} }
	createKey := func(c clients, in *kms.CreateKeyInput) error {
		_, err := c.kms.CreateKey(ctx, in)
		return err
	}
	createGrant := func(c clients, grantee string, o []types.GrantOperation, cons *types.GrantConstraints) error {
		_, err := e.grant(c, *def.KeyId, grantee, o, cons, nil, nil)
		return err
	}
	rsaEnc := func(c clients, alg types.EncryptionAlgorithmSpec) error {
		_, err := c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: rsa.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: alg})
		return err
	}
	sign := func(mt types.MessageType, msg []byte) error {
		_, err := signer.kms.Sign(ctx, &kms.SignInput{KeyId: ecc.KeyId, Message: msg, MessageType: mt, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
		return err
	}
	genMac := func(c clients) error {
		_, err := c.kms.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmac.KeyId, Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
		return err
	}
	reencrypt := func(dst string) error {
		_, err := exampleUser.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: reencBlob, DestinationKeyId: aws.String(dst)})
		return err
	}
	alias := func(c clients, name string) error {
		_, err := c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: def.KeyId})
		return err
	}
	ad := "AccessDeniedException"

	cases := []authzCase{
		// Alias-based ABAC.
		{name: "kms:RequestAlias: by the alias", rule: "alias-authorization.md#alias-auth-request-alias; conditions-kms.md#conditions-kms-request-alias",
			run: func(t *testing.T) error { return e.enc(reqAlias, "alias/finance-app", nil) }},
		{name: "kms:RequestAlias: by key id", rule: "alias-authorization.md#alias-auth-request-alias: the alias must be in the request",
			run:  func(t *testing.T) error { return e.enc(reqAlias, *finance.KeyId, nil) },
			code: ad, msg: denied(u("reqalias"), "kms:Encrypt", *finance.Arn, noIdentity)},
		{name: "kms:ResourceAliases: a key with a matching alias", rule: "alias-authorization.md#alias-auth-resource-aliases; conditions-kms.md#conditions-kms-resource-aliases",
			run: func(t *testing.T) error { return e.enc(resAlias, *finance.KeyId, nil) }},
		{name: "kms:ResourceAliases: a key without", rule: "alias-authorization.md#alias-auth-resource-aliases",
			run:  func(t *testing.T) error { return e.enc(resAlias, *def.KeyId, nil) },
			code: ad, msg: denied(u("resalias"), "kms:Encrypt", *def.Arn, noIdentity)},
		// Tag-based ABAC.
		{name: "aws:ResourceTag: a key with the tag", rule: "tag-authorization.md; abac.md#about-abac-kms: aws:ResourceTag/tag-key",
			run: func(t *testing.T) error { return e.enc(resTag, *tagged.KeyId, nil) }},
		{name: "aws:ResourceTag: a key without", rule: "tag-authorization.md",
			run:  func(t *testing.T) error { return e.enc(resTag, *def.KeyId, nil) },
			code: ad, msg: denied(u("restag"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:RequestTag with ${aws:username} and aws:TagKeys on CreateKey", rule: "tag-permissions.md / conditions-aws.md: aws:RequestTag and aws:TagKeys in CreateKey; reference_policies_variables.md",
			run: func(t *testing.T) error { return createKey(tagger, &kms.CreateKeyInput{Tags: tag("Owner", "tagger")}) }},
		{name: "aws:RequestTag: another value on CreateKey", rule: "tag-permissions.md: aws:RequestTag",
			run:  func(t *testing.T) error { return createKey(tagger, &kms.CreateKeyInput{Tags: tag("Owner", "mallory")}) },
			code: ad, msg: denied(u("tagger"), "kms:CreateKey", "*", noIdentity)},
		{name: "aws:TagKeys: a tag key not allowed on TagResource", rule: "tag-permissions.md: aws:TagKeys with ForAllValues",
			run: func(t *testing.T) error {
				_, err := tagger.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: def.KeyId, Tags: append(tag("Owner", "tagger"), tag("Env", "dev")...)})
				return err
			},
			code: ad, msg: denied(u("tagger"), "kms:TagResource", *def.Arn, noIdentity)},
		{name: "aws:RequestTag on TagResource", rule: "tag-permissions.md: aws:RequestTag",
			run: func(t *testing.T) error {
				_, err := tagger.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: def.KeyId, Tags: tag("Owner", "tagger")})
				return err
			}},
		// Encryption context.
		{name: "kms:EncryptionContext: the pair", rule: "conditions-kms.md#conditions-kms-encryption-context",
			run: func(t *testing.T) error { return e.enc(ecUser, *def.KeyId, map[string]string{"Department": "IT"}) }},
		{name: "kms:EncryptionContext: the key name is not case sensitive", rule: "conditions-kms.md#conditions-kms-encryption-context-case: the condition key is not case sensitive",
			run: func(t *testing.T) error { return e.enc(ecUser, *def.KeyId, map[string]string{"department": "IT"}) }},
		{name: "kms:EncryptionContext: the value is, under StringEquals", rule: "conditions-kms.md#conditions-kms-encryption-context-case: the case sensitivity of the value is determined by the operator",
			run:  func(t *testing.T) error { return e.enc(ecUser, *def.KeyId, map[string]string{"Department": "it"}) },
			code: ad, msg: denied(u("ecuser"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "kms:EncryptionContext: no context", rule: "conditions-kms.md#conditions-kms-encryption-context",
			run:  func(t *testing.T) error { return e.enc(ecUser, *def.KeyId, nil) },
			code: ad, msg: denied(u("ecuser"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "kms:EncryptionContextKeys ForAllValues: a subset", rule: "conditions-kms.md#conditions-kms-encryption-context-keys: ForAllValues",
			run: func(t *testing.T) error { return e.enc(ecAll, *def.KeyId, map[string]string{"A": "1"}) }},
		{name: "kms:EncryptionContextKeys ForAllValues: another key", rule: "conditions-kms.md#conditions-kms-encryption-context-keys",
			run:  func(t *testing.T) error { return e.enc(ecAll, *def.KeyId, map[string]string{"A": "1", "C": "3"}) },
			code: ad, msg: denied(u("ecall"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "kms:EncryptionContextKeys ForAllValues alone allows no context", rule: "conditions-kms.md#conditions-kms-encryption-context-keys: used alone, this set operator would allow requests with no encryption context",
			run: func(t *testing.T) error { return e.enc(ecAll, *def.KeyId, nil) }},
		{name: "kms:EncryptionContextKeys ForAnyValue: one matches", rule: "conditions-kms.md#conditions-kms-encryption-context-keys: ForAnyValue, other keys permitted",
			run: func(t *testing.T) error {
				return e.gdk(ecAny, *def.KeyId, map[string]string{"AppName": "Helper", "Project": "Alpha"})
			}},
		{name: "kms:EncryptionContextKeys ForAnyValue: keys are values, case sensitive", rule: "conditions-kms.md#conditions-kms-encryption-context-case: to require a case-sensitive key use kms:EncryptionContextKeys",
			run:  func(t *testing.T) error { return e.gdk(ecAny, *def.KeyId, map[string]string{"appname": "Helper"}) },
			code: ad, msg: denied(u("ecany"), "kms:GenerateDataKey", *def.Arn, noIdentity)},
		{name: "kms:EncryptionContextKeys ForAnyValue: no context", rule: "conditions-kms.md#conditions-kms-encryption-context-keys: if the request has no encryption context, the condition is not satisfied",
			run:  func(t *testing.T) error { return e.gdk(ecAny, *def.KeyId, nil) },
			code: ad, msg: denied(u("ecany"), "kms:GenerateDataKey", *def.Arn, noIdentity)},
		// Key properties.
		{name: "kms:EncryptionAlgorithm: the allowed algorithm", rule: "conditions-kms.md#conditions-kms-encryption-algorithm",
			run: func(t *testing.T) error { return rsaEnc(algUser, types.EncryptionAlgorithmSpecRsaesOaepSha256) }},
		{name: "kms:EncryptionAlgorithm: another algorithm", rule: "conditions-kms.md#conditions-kms-encryption-algorithm",
			run:  func(t *testing.T) error { return rsaEnc(algUser, types.EncryptionAlgorithmSpecRsaesOaepSha1) },
			code: ad, msg: denied(u("alguser"), "kms:Encrypt", *rsa.Arn, noIdentity)},
		{name: "kms:KeySpec on a key", rule: "conditions-kms.md#conditions-kms-key-spec",
			run: func(t *testing.T) error { return e.describe(specUser, *ecc.KeyId) }},
		{name: "kms:KeySpec: another spec", rule: "conditions-kms.md#conditions-kms-key-spec",
			run:  func(t *testing.T) error { return e.describe(specUser, *def.KeyId) },
			code: ad, msg: denied(u("specuser"), "kms:DescribeKey", *def.Arn, noIdentity)},
		{name: "kms:KeyUsage on a key", rule: "conditions-kms.md#conditions-kms-key-usage",
			run: func(t *testing.T) error { return e.describe(usageUser, *hmac.KeyId) }},
		{name: "kms:KeyUsage: another usage", rule: "conditions-kms.md#conditions-kms-key-usage",
			run:  func(t *testing.T) error { return e.describe(usageUser, *ecc.KeyId) },
			code: ad, msg: denied(u("usageuser"), "kms:DescribeKey", *ecc.Arn, noIdentity)},
		{name: "kms:KeySpec, kms:KeyUsage, kms:KeyOrigin on CreateKey", rule: "conditions-kms.md#conditions-kms-key-spec, #conditions-kms-key-usage, #conditions-kms-key-origin",
			run: func(t *testing.T) error { return createKey(creator, nil) }},
		{name: "kms:KeySpec on CreateKey: an HMAC key", rule: "conditions-kms.md#conditions-kms-key-spec",
			run: func(t *testing.T) error {
				return createKey(creator, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
			},
			code: ad, msg: denied(u("creator"), "kms:CreateKey", "*", noIdentity)},
		{name: "kms:KeyOrigin on CreateKey: EXTERNAL", rule: "conditions-kms.md#conditions-kms-key-origin",
			run: func(t *testing.T) error {
				return createKey(creator, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
			},
			code: ad, msg: denied(u("creator"), "kms:CreateKey", "*", noIdentity)},
		{name: "kms:CallerAccount in an IAM policy", rule: "conditions-kms.md#conditions-kms-caller-account",
			run: func(t *testing.T) error { return e.enc(callerAcct, *def.KeyId, nil) }},
		// Grant conditions.
		{name: "kms:GrantOperations: a subset", rule: "conditions-kms.md#conditions-kms-grant-operations",
			run: func(t *testing.T) error { return createGrant(grantOps, worker, ops(types.GrantOperationEncrypt), nil) }},
		{name: "kms:GrantOperations: an operation not listed", rule: "conditions-kms.md#conditions-kms-grant-operations",
			run: func(t *testing.T) error {
				return createGrant(grantOps, worker, ops(types.GrantOperationEncrypt, types.GrantOperationReEncryptFrom), nil)
			},
			code: ad, msg: denied(u("grantops"), "kms:CreateGrant", *def.Arn, noIdentity)},
		{name: "kms:GranteePrincipal: the principal", rule: "conditions-kms.md#conditions-kms-grantee-principal",
			run: func(t *testing.T) error { return createGrant(granteeP, worker, ops(types.GrantOperationDecrypt), nil) }},
		{name: "kms:GranteePrincipal: another principal", rule: "conditions-kms.md#conditions-kms-grantee-principal",
			run: func(t *testing.T) error {
				return createGrant(granteeP, u("blue"), ops(types.GrantOperationDecrypt), nil)
			},
			code: ad, msg: denied(u("granteep"), "kms:CreateGrant", *def.Arn, noIdentity)},
		{name: "kms:GrantIsForAWSResource: false for a direct call", rule: "conditions-kms.md#conditions-kms-grant-is-for-aws-resource: true only when an integrated AWS service calls",
			run:  func(t *testing.T) error { return createGrant(forAWS, worker, ops(types.GrantOperationDecrypt), nil) },
			code: ad, msg: denied(u("forawsres"), "kms:CreateGrant", *def.Arn, noIdentity)},
		{name: "kms:GrantConstraintType: EncryptionContextEquals", rule: "conditions-kms.md#conditions-kms-grant-constraint-type",
			run: func(t *testing.T) error {
				return createGrant(constraint, worker, ops(types.GrantOperationDecrypt), &types.GrantConstraints{EncryptionContextEquals: map[string]string{"a": "b"}})
			}},
		{name: "kms:GrantConstraintType: EncryptionContextSubset", rule: "conditions-kms.md#conditions-kms-grant-constraint-type",
			run: func(t *testing.T) error {
				return createGrant(constraint, worker, ops(types.GrantOperationDecrypt), &types.GrantConstraints{EncryptionContextSubset: map[string]string{"a": "b"}})
			},
			code: ad, msg: denied(u("constraint"), "kms:CreateGrant", *def.Arn, noIdentity)},
		// Management parameters.
		{name: "kms:ScheduleKeyDeletionPendingWindowInDays: too short", rule: "conditions-kms.md#conditions-kms-schedule-key-deletion-pending-window-in-days",
			run: func(t *testing.T) error {
				_, err := deleter.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: deletable.KeyId, PendingWindowInDays: aws.Int32(7)})
				return err
			},
			code: ad, msg: denied(u("deleter"), "kms:ScheduleKeyDeletion", *deletable.Arn, noIdentity)},
		{name: "kms:ScheduleKeyDeletionPendingWindowInDays: long enough", rule: "conditions-kms.md#conditions-kms-schedule-key-deletion-pending-window-in-days",
			run: func(t *testing.T) error {
				_, err := deleter.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: deletable.KeyId, PendingWindowInDays: aws.Int32(30)})
				return err
			}},
		{name: "kms:RotationPeriodInDays: too long", rule: "conditions-kms.md#conditions-kms-rotation-period-in-days",
			run: func(t *testing.T) error {
				_, err := rotator.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: rotatable.KeyId, RotationPeriodInDays: aws.Int32(365)})
				return err
			},
			code: ad, msg: denied(u("rotator"), "kms:EnableKeyRotation", *rotatable.Arn, noIdentity)},
		{name: "kms:RotationPeriodInDays: within the limit", rule: "conditions-kms.md#conditions-kms-rotation-period-in-days",
			run: func(t *testing.T) error {
				_, err := rotator.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: rotatable.KeyId, RotationPeriodInDays: aws.Int32(90)})
				return err
			}},
		{name: "kms:ReEncryptOnSameKey: the docs' statement, same key", rule: "conditions-kms.md#conditions-kms-reencrypt-on-same-key: allow a user to reencrypt only when the destination KMS key is the same one",
			run: func(t *testing.T) error { return reencrypt(*reencSame.Arn) }},
		{name: "kms:ReEncryptOnSameKey: the docs' statement, another key", rule: "conditions-kms.md#conditions-kms-reencrypt-on-same-key",
			run:  func(t *testing.T) error { return reencrypt(*def.Arn) },
			code: ad, msg: denied(u("ExampleUser"), "kms:ReEncryptFrom", *reencSame.Arn, noIdentity)},
		{name: "kms:SigningAlgorithm and kms:MessageType: RAW", rule: "conditions-kms.md#conditions-kms-signing-algorithm, #conditions-kms-message-type",
			run: func(t *testing.T) error { return sign(types.MessageTypeRaw, []byte("message")) }},
		{name: "kms:MessageType: DIGEST", rule: "conditions-kms.md#conditions-kms-message-type",
			run:  func(t *testing.T) error { return sign(types.MessageTypeDigest, make([]byte, 32)) },
			code: ad, msg: denied(u("signer"), "kms:Sign", *ecc.Arn, noIdentity)},
		{name: "kms:MacAlgorithm: the allowed algorithm", rule: "conditions-kms.md#conditions-kms-mac-algorithm",
			run: func(t *testing.T) error { return genMac(mac256) }},
		{name: "kms:MacAlgorithm: another algorithm", rule: "conditions-kms.md#conditions-kms-mac-algorithm",
			run:  func(t *testing.T) error { return genMac(mac512) },
			code: ad, msg: denied(u("mac512"), "kms:GenerateMac", *hmac.Arn, noIdentity)},
		// Global condition keys about the principal.
		{name: "aws:PrincipalTag from user tags", rule: "conditions-aws.md; iam-user-guide reference_policies_condition-keys.md#condition-keys-principaltag",
			run: func(t *testing.T) error { return e.enc(blue, *def.KeyId, nil) }},
		{name: "aws:PrincipalTag: another tag value", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principaltag",
			run:  func(t *testing.T) error { return e.enc(red, *def.KeyId, nil) },
			code: ad, msg: denied(u("red"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:PrincipalTag from session tags, over the role's", rule: "iam-user-guide id_session-tags.md: session tags override role tags with the same key",
			run: func(t *testing.T) error { return e.enc(blueSess, *def.KeyId, nil) }},
		{name: "aws:PrincipalTag from the role's tags", rule: "iam-user-guide id_session-tags.md",
			run:  func(t *testing.T) error { return e.enc(redSess, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Team", "plain"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:PrincipalArn of a session is the role ARN", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalarn",
			run: func(t *testing.T) error { return e.enc(workerSess, *def.KeyId, nil) }},
		{name: "aws:PrincipalArn of a user", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalarn",
			run:  func(t *testing.T) error { return e.enc(arnUser, *def.KeyId, nil) },
			code: ad, msg: denied(u("arnuser"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:PrincipalType User", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principaltype",
			run: func(t *testing.T) error { return e.enc(typed, *def.KeyId, nil) }},
		{name: "aws:PrincipalType of a session is AssumedRole", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principaltype",
			run:  func(t *testing.T) error { return e.enc(typedSess, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Typed", "t1"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "${aws:username} in a kms:EncryptionContext condition", rule: "conditions-kms.md#conditions-kms-encryption-context-variables; iam-user-guide reference_policies_variables.md",
			run: func(t *testing.T) error { return e.enc(carol, *def.KeyId, map[string]string{"user": "carol"}) }},
		{name: "${aws:username}: another user's name", rule: "conditions-kms.md#conditions-kms-encryption-context-variables",
			run:  func(t *testing.T) error { return e.enc(carol, *def.KeyId, map[string]string{"user": "dave"}) },
			code: ad, msg: denied(u("carol"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:username of a user", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-username",
			run: func(t *testing.T) error { return e.enc(dave, *def.KeyId, nil) }},
		{name: "aws:username is absent for a role session", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-username: not present for assumed roles",
			run:  func(t *testing.T) error { return e.enc(daveSess, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Dave", "dave"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:userid of a session is role-id:session", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-userid",
			run: func(t *testing.T) error { return e.enc(uidSess, *def.KeyId, nil) }},
		{name: "aws:userid: another session", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-userid",
			run:  func(t *testing.T) error { return e.enc(uidOther, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Uid", "other-sess"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:PrincipalAccount", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalaccount",
			run: func(t *testing.T) error { return e.enc(principalAcct, *def.KeyId, nil) }},
		{name: "${aws:username} in Resource: own alias", rule: "alias-access.md#alias-access-limiting; iam-user-guide reference_policies_variables.md: variables in Resource",
			run: func(t *testing.T) error { return alias(erin, "alias/erin-app") }},
		{name: "${aws:username} in Resource: someone else's alias", rule: "alias-access.md#alias-access-create: kms:CreateAlias on the alias (IAM)",
			run:  func(t *testing.T) error { return alias(erin, "alias/frank-app") },
			code: ad, msg: denied(u("erin"), "kms:CreateAlias", "arn:aws:kms:us-east-1:"+acct+":alias/frank-app", noIdentity)},
		// Global condition keys about the request.
		{name: "aws:SourceIp in the range", rule: "conditions-aws.md#conditions-aws-ip-address",
			run: func(t *testing.T) error { return e.enc(fromHere, *def.KeyId, nil) }},
		{name: "aws:SourceIp outside the range", rule: "conditions-aws.md#conditions-aws-ip-address",
			run:  func(t *testing.T) error { return e.enc(fromElsewhere, *def.KeyId, nil) },
			code: ad, msg: denied(u("fromelsewhere"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:SecureTransport is false over http", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-securetransport",
			run:  func(t *testing.T) error { return e.enc(tlsOnly, *def.KeyId, nil) },
			code: ad, msg: denied(u("tlsonly"), "kms:Encrypt", *def.Arn, denyIdentity)},
		{name: "aws:CurrentTime DateGreaterThan", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-currenttime; reference_policies_elements_condition_operators.md#Conditions_Date",
			run: func(t *testing.T) error { return e.enc(after, *def.KeyId, nil) }},
		{name: "aws:CurrentTime DateLessThan", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-currenttime",
			run:  func(t *testing.T) error { return e.enc(before, *def.KeyId, nil) },
			code: ad, msg: denied(u("before"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:EpochTime NumericGreaterThan", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-epochtime",
			run: func(t *testing.T) error { return e.enc(epoch, *def.KeyId, nil) }},
		{name: "aws:MultiFactorAuthPresent BoolIfExists: long-term keys have no such key", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-multifactorauthpresent: not present for long-term credentials; ...IfExists",
			run: func(t *testing.T) error { return e.enc(mfaUser, *def.KeyId, nil) }},
		{name: "aws:MultiFactorAuthPresent BoolIfExists: a session without MFA", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-multifactorauthpresent",
			run:  func(t *testing.T) error { return e.enc(mfaSess, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Mfa", "m1"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:TokenIssueTime of a session", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-tokenissuetime",
			run: func(t *testing.T) error { return e.enc(issuedSess, *def.KeyId, nil) }},
		{name: "aws:TokenIssueTime is absent for long-term keys", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-tokenissuetime: present only with temporary credentials",
			run:  func(t *testing.T) error { return e.enc(issuedUser, *def.KeyId, nil) },
			code: ad, msg: denied(u("issueduser"), "kms:Encrypt", *def.Arn, noIdentity)},
	}
	runAuthz(t, cases)
}

// TestAuthzGrants: grants allow their grantee without any policy, within
// their operations and constraints, and are retired and revoked as the
// grant documentation says.
func TestAuthzGrants(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	def := e.key("", nil)
	granter := e.user("granter", nil, allowAll("", "kms:CreateGrant"))
	revoker := e.user("revoker", nil, allowAll("", "kms:RevokeGrant", "kms:ListGrants"))
	grantee := e.user("grantee", nil)
	subset := e.user("subset", nil)
	equals := e.user("equals", nil)
	selfRetire := e.user("selfretire", nil)
	plain := e.user("plain", nil)
	retirer := e.user("retirer", nil)
	stranger := e.user("stranger", nil)
	delegate := e.user("delegate", nil, allowAll("", "kms:RetireGrant"))
	denyRetire := e.user("denyretire", nil, doc(stmt("Deny", "", js("kms:RetireGrant"), js("*"), "")))
	denyEnc := e.user("denyenc", nil, doc(stmt("Deny", "", js("kms:Encrypt"), js("*"), "")))
	grantRole := e.role("GrantRole", nil, nil)
	roleSess := e.session(grantRole, "g1", "", nil)
	u := func(n string) string { return userARN(acct, n) }
	ad := "AccessDeniedException"
	it := map[string]string{"dept": "IT"}

	main, err := e.grant(granter, *def.KeyId, u("grantee"), ops(types.GrantOperationEncrypt, types.GrantOperationDecrypt, types.GrantOperationCreateGrant), nil, aws.String(u("retirer")), nil)
	e.must(err)
	_, err = e.grant(e.root, *def.KeyId, u("subset"), ops(types.GrantOperationEncrypt, types.GrantOperationDecrypt), &types.GrantConstraints{EncryptionContextSubset: it}, nil, nil)
	e.must(err)
	_, err = e.grant(e.root, *def.KeyId, u("equals"), ops(types.GrantOperationEncrypt), &types.GrantConstraints{EncryptionContextEquals: it}, nil, nil)
	e.must(err)
	_, err = e.grant(e.root, *def.KeyId, grantRole, ops(types.GrantOperationEncrypt), nil, nil, nil)
	e.must(err)
	self, err := e.grant(e.root, *def.KeyId, u("selfretire"), ops(types.GrantOperationEncrypt, types.GrantOperationRetireGrant), nil, nil, nil)
	e.must(err)
	plainGrant, err := e.grant(e.root, *def.KeyId, u("plain"), ops(types.GrantOperationEncrypt), nil, nil, nil)
	e.must(err)
	e.user("bystander", nil)
	forDelegate, err := e.grant(e.root, *def.KeyId, u("bystander"), ops(types.GrantOperationEncrypt), nil, nil, nil)
	e.must(err)
	forDenied, err := e.grant(e.root, *def.KeyId, u("denyretire"), ops(types.GrantOperationEncrypt, types.GrantOperationRetireGrant), nil, nil, nil)
	e.must(err)
	_, err = e.grant(e.root, *def.KeyId, u("denyenc"), ops(types.GrantOperationEncrypt), nil, nil, nil)
	e.must(err)
	blob := e.encrypt(def, nil)
	var named *kms.CreateGrantOutput

	cases := []authzCase{
		{name: "no grant, no policy", rule: "policy-evaluation.md#example-no-iam",
			run:  func(t *testing.T) error { return e.enc(stranger, *def.KeyId, nil) },
			code: ad, msg: denied(u("stranger"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "grant usable at once with its token", rule: "grant-manage.md#using-grant-token: to use the permissions in a grant immediately, use a grant token",
			run: func(t *testing.T) error {
				_, err := grantee.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: def.Arn, Plaintext: []byte("x"), GrantTokens: []string{*main.GrantToken}})
				return err
			}},
		{name: "grantee decrypts with no policy at all", rule: "grants.md#about-grants: the grantee principal can use the permissions without specifying the grant",
			run: func(t *testing.T) error { return e.dec(grantee, blob, nil, nil) }},
		{name: "an operation not in the grant", rule: "grants.md#terms-grant-operations: a grant allows only its operations",
			run:  func(t *testing.T) error { return e.gdk(grantee, *def.KeyId, nil) },
			code: ad, msg: denied(u("grantee"), "kms:GenerateDataKey", *def.Arn, noIdentity)},
		{name: "CreateGrant without permission", rule: "grant-manage.md#grant-authorization: CreateGrant needs a key policy, IAM policy or grant",
			run: func(t *testing.T) error {
				_, err := e.grant(stranger, *def.KeyId, u("stranger"), ops(types.GrantOperationEncrypt), nil, nil, nil)
				return err
			},
			code: ad, msg: denied(u("stranger"), "kms:CreateGrant", *def.Arn, noIdentity)},
		{name: "EncryptionContextSubset met", rule: "grants.md#terms-grant-constraint; create-grant-overview.md#grant-constraints: EncryptionContextSubset",
			run: func(t *testing.T) error {
				return e.enc(subset, *def.KeyId, map[string]string{"dept": "IT", "extra": "ok"})
			}},
		{name: "EncryptionContextSubset not met", rule: "create-grant-overview.md#grant-constraints",
			run:  func(t *testing.T) error { return e.enc(subset, *def.KeyId, map[string]string{"dept": "HR"}) },
			code: ad, msg: denied(u("subset"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "EncryptionContextSubset without context", rule: "create-grant-overview.md#grant-constraints",
			run:  func(t *testing.T) error { return e.enc(subset, *def.KeyId, nil) },
			code: ad, msg: denied(u("subset"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "EncryptionContextEquals met", rule: "create-grant-overview.md#grant-constraints: EncryptionContextEquals",
			run: func(t *testing.T) error { return e.enc(equals, *def.KeyId, it) }},
		{name: "EncryptionContextEquals with an extra pair", rule: "create-grant-overview.md#grant-constraints: an exact match",
			run: func(t *testing.T) error {
				return e.enc(equals, *def.KeyId, map[string]string{"dept": "IT", "extra": "no"})
			},
			code: ad, msg: denied(u("equals"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "a grant to a role covers its sessions", rule: "grants.md#terms-grantee-principal: the grantee principal can represent one or more identities",
			run: func(t *testing.T) error { return e.enc(roleSess, *def.KeyId, nil) }},
		{name: "a grant's CreateGrant passes on a subset", rule: "create-grant-overview.md#grant-creategrant; grants.md#about-grants: these principals can only delegate the permissions that they were granted",
			run: func(t *testing.T) error {
				_, err := e.grant(grantee, *def.Arn, u("stranger"), ops(types.GrantOperationEncrypt), nil, nil, nil)
				return err
			}},
		{name: "a grant's CreateGrant cannot pass on more", rule: "create-grant-overview.md#grant-creategrant",
			run: func(t *testing.T) error {
				_, err := e.grant(grantee, *def.Arn, u("stranger"), ops(types.GrantOperationEncrypt, types.GrantOperationGenerateDataKey), nil, nil, nil)
				return err
			},
			code: ad, msg: "kms:CreateGrant"},
		{name: "ListGrants by a principal allowed it", rule: "grant-manage.md#grant-view; grant-manage.md#grant-authorization: ListGrants by key policy or IAM policy",
			run: func(t *testing.T) error {
				out, err := revoker.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: def.KeyId, GranteePrincipal: aws.String(u("grantee"))})
				if err == nil && (len(out.Grants) != 1 || *out.Grants[0].GrantId != *main.GrantId || *out.Grants[0].RetiringPrincipal != u("retirer")) {
					return fmt.Errorf("ListGrants = %+v", out.Grants)
				}
				return err
			}},
		{name: "ListGrants is not allowed by a grant", rule: "grant-manage.md#grant-authorization: ListGrants cannot be allowed by a grant",
			run: func(t *testing.T) error {
				_, err := grantee.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: def.KeyId})
				return err
			},
			code: ad, msg: denied(u("grantee"), "kms:ListGrants", *def.Arn, noIdentity)},
		{name: "Name makes CreateGrant idempotent: same id, new token", rule: "API CreateGrant Name: a retried request with the same name returns the same grant ID with a new grant token",
			run: func(t *testing.T) error {
				var err error
				named, err = e.grant(e.root, *def.KeyId, u("stranger"), ops(types.GrantOperationDecrypt), nil, nil, aws.String("once"))
				if err != nil {
					return err
				}
				again, err := e.grant(e.root, *def.KeyId, u("stranger"), ops(types.GrantOperationDecrypt), nil, nil, aws.String("once"))
				if err == nil && (*again.GrantId != *named.GrantId || *again.GrantToken == *named.GrantToken) {
					return fmt.Errorf("second CreateGrant = %s/%s, first %s/%s", *again.GrantId, *again.GrantToken, *named.GrantId, *named.GrantToken)
				}
				return err
			}},
		{name: "RetireGrant by a grantee without RetireGrant in the grant", rule: "grant-manage.md#grant-delete: the grantee can retire only if it is the retiring principal or the grant includes RetireGrant",
			run: func(t *testing.T) error {
				_, err := plain.kms.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: def.Arn, GrantId: plainGrant.GrantId})
				return err
			},
			code: ad, msg: "kms:RetireGrant"},
		{name: "RetireGrant by an unrelated principal", rule: "grant-manage.md#grant-delete: the grant determines who can retire it",
			run: func(t *testing.T) error {
				_, err := stranger.kms.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: self.GrantToken})
				return err
			},
			code: ad, msg: "kms:RetireGrant"},
		{name: "RetireGrant by the grantee when the grant includes RetireGrant", rule: "grant-manage.md#grant-delete",
			run: func(t *testing.T) error {
				_, err := selfRetire.kms.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: self.GrantToken})
				return err
			}},
		{name: "RetireGrant by a user the key's account allows kms:RetireGrant", rule: "grant-manage.md#grant-delete: the AWS account that owns the KMS key can delegate the kms:RetireGrant permission to an IAM user in the account",
			run: func(t *testing.T) error {
				_, err := delegate.kms.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: def.Arn, GrantId: forDelegate.GrantId})
				return err
			}},
		{name: "an IAM deny of kms:RetireGrant beats the grant's RetireGrant", rule: "grant-manage.md#grant-delete: to deny permission to retire a grant, you can use a Deny action with the kms:RetireGrant permission",
			run: func(t *testing.T) error {
				_, err := denyRetire.kms.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: forDenied.GrantToken})
				return err
			},
			code: ad, msg: denied(u("denyretire"), "kms:RetireGrant", *def.Arn, denyIdentity)},
		{name: "an IAM explicit deny beats a grant", rule: "grants.md#about-grants: a grant can allow access, but not deny; iam-user-guide reference_policies_evaluation-logic.md: explicit deny wins",
			run:  func(t *testing.T) error { return e.enc(denyEnc, *def.KeyId, nil) },
			code: ad, msg: denied(u("denyenc"), "kms:Encrypt", *def.Arn, denyIdentity)},
		{name: "RetireGrant by the retiring principal", rule: "grants.md#terms-retiring-principal; grant-manage.md#grant-delete",
			run: func(t *testing.T) error {
				_, err := retirer.kms.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: def.Arn, GrantId: main.GrantId})
				return err
			}},
		{name: "a retired grant allows nothing", rule: "grants.md#about-grants: deleting a grant eliminates all permissions that the grant allowed",
			run:  func(t *testing.T) error { return e.dec(grantee, blob, nil, nil) },
			code: ad, msg: denied(u("grantee"), "kms:Decrypt", *def.Arn, noIdentity)},
		{name: "RevokeGrant without kms:RevokeGrant", rule: "grant-manage.md#grant-delete: RevokeGrant is controlled by key policies and IAM policies",
			run: func(t *testing.T) error {
				_, err := plain.kms.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: def.KeyId, GrantId: plainGrant.GrantId})
				return err
			},
			code: ad, msg: denied(u("plain"), "kms:RevokeGrant", *def.Arn, noIdentity)},
		{name: "RevokeGrant with kms:RevokeGrant", rule: "grant-manage.md#grant-delete",
			run: func(t *testing.T) error {
				_, err := revoker.kms.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: def.KeyId, GrantId: plainGrant.GrantId})
				return err
			}},
		{name: "a revoked grant allows nothing", rule: "grants.md#terms-revoke-grant",
			run:  func(t *testing.T) error { return e.enc(plain, *def.KeyId, nil) },
			code: ad, msg: denied(u("plain"), "kms:Encrypt", *def.Arn, noIdentity)},
	}
	runAuthz(t, cases)
}

// TestAuthzAccountLevelAndAliases: operations on no particular key are
// decided by IAM alone; alias operations need the alias and the key.
func TestAuthzAccountLevelAndAliases(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	k1, k2 := e.key("", nil), e.key("", nil)
	e.alias("alias/shared", k1)
	// The docs' policy as written: a single statement object.
	docsPolicy := `{
  "Version": "2012-10-17",
  "Statement": {
    "Effect": "Allow",
    "Action": [
      "kms:CreateKey",
      "kms:ListKeys",
      "kms:ListAliases",
      "kms:ListResourceTags"
    ],
    "Resource": "*"
  }
}`
	lister := e.user("lister", nil, docsPolicy)
	nobody := e.user("nobody", nil)
	random := e.user("random", nil, allowAll("", "kms:GenerateRandom"))
	// Named in a key policy with kms:*, but without IAM policies.
	e.user("keyonly", nil)
	keyOnly := e.userKeys("keyonly")
	named := e.key(doc(rootStmt, stmt("Allow", principal(userARN(acct, "keyonly")), js("kms:*"), js("*"), "")), nil)
	aliasOnly := e.user("aliasonly", nil, doc(stmt("Allow", "", js("kms:CreateAlias"), js("arn:aws:kms:us-east-1:"+acct+":alias/*"), "")))
	both := e.user("both", nil, doc(stmt("Allow", "", js("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"), js("arn:aws:kms:us-east-1:"+acct+":alias/*", *k1.Arn), "")))
	aliasARN := func(n string) string { return "arn:aws:kms:us-east-1:" + acct + ":" + n }
	u := func(n string) string { return userARN(acct, n) }
	ad := "AccessDeniedException"
	createAlias := func(c clients, name string, k *types.KeyMetadata) error {
		_, err := c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: k.KeyId})
		return err
	}

	cases := []authzCase{
		{name: "the docs' ListKeys/ListAliases policy: ListKeys", rule: "cmks-in-iam-policies.md: a wildcard alone for operations that don't use any particular KMS key (CreateKey, ListKeys, ListAliases)",
			run: func(t *testing.T) error {
				out, err := lister.kms.ListKeys(ctx, &kms.ListKeysInput{})
				if err == nil && len(out.Keys) != 3 {
					return fmt.Errorf("ListKeys listed %d keys, want 3", len(out.Keys))
				}
				return err
			}},
		{name: "the docs' policy: ListAliases", rule: "cmks-in-iam-policies.md; alias-access.md#alias-access-view: ListAliases is controlled by IAM policies",
			run: func(t *testing.T) error {
				out, err := lister.kms.ListAliases(ctx, &kms.ListAliasesInput{})
				if err == nil && len(out.Aliases) != 1 {
					return fmt.Errorf("ListAliases = %+v", out.Aliases)
				}
				return err
			}},
		{name: "the docs' policy: CreateKey", rule: "cmks-in-iam-policies.md; iam-policies.md: CreateKey is controlled by IAM policies",
			run: func(t *testing.T) error {
				_, err := lister.kms.CreateKey(ctx, &kms.CreateKeyInput{})
				return err
			}},
		{name: "the docs' policy: ListResourceTags under the default key policy", rule: "cmks-in-iam-policies.md; key-policy-default.md#key-policy-default-allow-root-enable-iam",
			run: func(t *testing.T) error {
				_, err := lister.kms.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k1.KeyId})
				return err
			}},
		{name: "ListKeys without an IAM policy", rule: "kms-api-permissions-reference.md: ListKeys, IAM policy only",
			run: func(t *testing.T) error {
				_, err := nobody.kms.ListKeys(ctx, &kms.ListKeysInput{})
				return err
			},
			code: ad, msg: denied(u("nobody"), "kms:ListKeys", "*", noIdentity)},
		{name: "CreateKey without an IAM policy", rule: "kms-api-permissions-reference.md: CreateKey, IAM policy only",
			run: func(t *testing.T) error {
				_, err := nobody.kms.CreateKey(ctx, &kms.CreateKeyInput{})
				return err
			},
			code: ad, msg: denied(u("nobody"), "kms:CreateKey", "*", noIdentity)},
		{name: "GenerateRandom with an IAM allow", rule: "kms-api-permissions-reference.md: GenerateRandom, IAM policy only",
			run: func(t *testing.T) error {
				_, err := random.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(16)})
				return err
			}},
		{name: "GenerateRandom without", rule: "kms-api-permissions-reference.md: GenerateRandom",
			run: func(t *testing.T) error {
				_, err := nobody.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(16)})
				return err
			},
			code: ad, msg: denied(u("nobody"), "kms:GenerateRandom", "*", noIdentity)},
		{name: "a key policy cannot allow ListAliases", rule: "alias-access.md#alias-access-view: kms:ListAliases must be in an IAM policy, it is not effective in a key policy",
			run: func(t *testing.T) error {
				_, err := keyOnly.kms.ListAliases(ctx, &kms.ListAliasesInput{})
				return err
			},
			code: ad, msg: denied(u("keyonly"), "kms:ListAliases", "*", noIdentity)},
		{name: "CreateAlias: the key policy allows the key, no IAM allows the alias", rule: "alias-access.md#alias-access-create: kms:CreateAlias on the alias in an IAM policy and on the key in the key policy",
			run:  func(t *testing.T) error { return createAlias(keyOnly, "alias/k", named) },
			code: ad, msg: denied(u("keyonly"), "kms:CreateAlias", aliasARN("alias/k"), noIdentity)},
		{name: "CreateAlias: IAM allows the alias only", rule: "alias-access.md#alias-access-create",
			run:  func(t *testing.T) error { return createAlias(aliasOnly, "alias/a", k1) },
			code: ad, msg: denied(u("aliasonly"), "kms:CreateAlias", *k1.Arn, noIdentity)},
		{name: "CreateAlias: the alias and the key allowed", rule: "alias-access.md#alias-access-create",
			run: func(t *testing.T) error { return createAlias(both, "alias/b", k1) }},
		{name: "UpdateAlias: the new key not allowed", rule: "alias-access.md#alias-access-update: permission on the alias, the current key and the new key",
			run: func(t *testing.T) error {
				_, err := both.kms.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/b"), TargetKeyId: k2.KeyId})
				return err
			},
			code: ad, msg: denied(u("both"), "kms:UpdateAlias", *k2.Arn, noIdentity)},
		{name: "DeleteAlias: the alias and its key allowed", rule: "alias-access.md#alias-access-delete: permission on the alias and on the key",
			run: func(t *testing.T) error {
				_, err := both.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/b")})
				return err
			}},
		{name: "DeleteAlias: the key not allowed", rule: "alias-access.md#alias-access-delete",
			run: func(t *testing.T) error {
				_, err := aliasOnly.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/shared")})
				return err
			},
			code: ad, msg: "kms:DeleteAlias"},
	}
	runAuthz(t, cases)
}

// TestAuthzCrossAccount: principals of a second account, made through
// Organizations, use a key only when its key policy and their own account's
// IAM policies both allow, and only in the operations AWS allows across
// accounts.
func TestAuthzCrossAccount(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	org, err := e.root.orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	e.must(err)
	orgID := *org.Organization.Id
	ca, err := e.root.orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("partner"), Email: aws.String("partner@example.com")})
	e.must(err)
	other := *ca.CreateAccountStatus.AccountId
	d, err := e.root.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	e.must(err)
	if *d.Organization.Id != orgID {
		t.Fatalf("DescribeOrganization id = %s, want %s", *d.Organization.Id, orgID)
	}
	// The management account reaches the member through its access role.
	e.user("orgadmin", nil)
	_, err = e.root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("orgadmin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	e.must(err)
	orgAdmin := e.userKeys("orgadmin")
	out, err := orgAdmin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(other, "OrganizationAccountAccessRole")), RoleSessionName: aws.String("setup")})
	e.must(err)
	member := clientsFor(e.srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)

	keysHere := "arn:aws:kms:us-east-1:" + acct + ":key/*"
	extPolicy := doc(stmt("Allow", "", js("kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ListGrants",
		"kms:GetKeyRotationStatus", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:TagResource"), js(keysHere), ""))
	mgmtUser := e.user("mgmtuser", nil)
	ext := e.userIn(member.iam, "ext", nil, extPolicy)
	extNone := e.userIn(member.iam, "extnone", nil)
	extNamed := e.userIn(member.iam, "extnamed", nil)
	extGrantee := e.userIn(member.iam, "extgrantee", nil)

	// The key policy allows the other account (so its IAM decides) and
	// names one of its users directly.
	shared := e.key(doc(rootStmt,
		stmt("Allow", principal(rootARN(other)), js("kms:*"), js("*"), ""),
		stmt("Allow", principal(userARN(other, "extnamed")), js("kms:Encrypt"), js("*"), "")), nil)
	e.alias("alias/shared", shared)
	callerAcctKey := e.key(doc(rootStmt, stmt("Allow", `"*"`, js("kms:Encrypt"), js("*"), `{"StringEquals":{"kms:CallerAccount":"`+acct+`"}}`)), nil)
	orgKey := e.key(doc(rootStmt, stmt("Allow", `"*"`, js("kms:Encrypt"), js("*"), `{"StringEquals":{"aws:PrincipalOrgID":"`+orgID+`"}}`)), nil)
	otherOrgKey := e.key(doc(rootStmt, stmt("Allow", `"*"`, js("kms:Encrypt"), js("*"), `{"StringEquals":{"aws:PrincipalOrgID":"o-aaaaaaaaaa"}}`)), nil)
	notShared := e.key("", nil)
	blob := e.encrypt(shared, nil)
	_, err = e.grant(e.root, *shared.KeyId, userARN(other, "extgrantee"), ops(types.GrantOperationEncrypt), nil, nil, nil)
	e.must(err)

	ea := func(n string) string { return userARN(other, n) }
	ad, nf := "AccessDeniedException", "NotFoundException"
	aliasARN := "arn:aws:kms:us-east-1:" + acct + ":alias/shared"

	cases := []authzCase{
		{name: "Encrypt by key ARN with the key policy and IAM", rule: "key-policy-modifying-external-accounts.md: cross-account access requires permission in the key policy and in an IAM policy in the external account",
			run: func(t *testing.T) error { return e.enc(ext, *shared.Arn, nil) }},
		{name: "Decrypt across accounts", rule: "key-policy-modifying-external-accounts.md#cross-account-use: cryptographic operations",
			run: func(t *testing.T) error { return e.dec(ext, blob, nil, nil) }},
		{name: "DescribeKey across accounts", rule: "key-policy-modifying-external-accounts.md: DescribeKey is effective across accounts",
			run: func(t *testing.T) error { return e.describe(ext, *shared.Arn) }},
		{name: "GenerateDataKey across accounts", rule: "key-policy-modifying-external-accounts.md#cross-account-use",
			run: func(t *testing.T) error { return e.gdk(ext, *shared.Arn, nil) }},
		{name: "GetKeyRotationStatus across accounts", rule: "key-policy-modifying-external-accounts.md: GetKeyRotationStatus, by key ARN",
			run: func(t *testing.T) error {
				_, err := ext.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: shared.Arn})
				return err
			}},
		{name: "CreateGrant and ListGrants across accounts", rule: "key-policy-modifying-external-accounts.md: CreateGrant and ListGrants, by key ARN",
			run: func(t *testing.T) error {
				if _, err := e.grant(ext, *shared.Arn, ea("extnone"), ops(types.GrantOperationDecrypt), nil, nil, nil); err != nil {
					return err
				}
				_, err := ext.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: shared.Arn})
				return err
			}},
		{name: "an alias ARN across accounts", rule: "key-policy-modifying-external-accounts.md#cross-account-use: for cryptographic operations use the key ARN or alias ARN",
			run: func(t *testing.T) error { return e.enc(ext, aliasARN, nil) }},
		{name: "an alias name means the caller's account", rule: "key-policy-modifying-external-accounts.md#cross-account-use: if you enter only a key ID or alias name, AWS assumes the KMS key is in your account",
			run:  func(t *testing.T) error { return e.enc(ext, "alias/shared", nil) },
			code: nf, msg: "alias/shared"},
		{name: "a key id means the caller's account", rule: "key-policy-modifying-external-accounts.md#cross-account-use",
			run:  func(t *testing.T) error { return e.enc(ext, *shared.KeyId, nil) },
			code: nf, msg: *shared.KeyId},
		{name: "no IAM policy in the external account", rule: "key-policy-modifying-external-accounts.md: neither the key policy nor the IAM policy alone is sufficient",
			run:  func(t *testing.T) error { return e.enc(extNone, *shared.Arn, nil) },
			code: ad, msg: denied(ea("extnone"), "kms:Encrypt", *shared.Arn, noIdentity)},
		{name: "named in the key policy, still no IAM policy", rule: "key-policy-modifying-external-accounts.md#cross-account-iam-policy: IAM policies in the external account must delegate the key policy permissions",
			run:  func(t *testing.T) error { return e.enc(extNamed, *shared.Arn, nil) },
			code: ad, msg: denied(ea("extnamed"), "kms:Encrypt", *shared.Arn, noIdentity)},
		{name: "IAM allow without the key policy", rule: "key-policy-modifying-external-accounts.md: the key policy determines who can have access",
			run:  func(t *testing.T) error { return e.enc(ext, *notShared.Arn, nil) },
			code: ad, msg: denied(ea("ext"), "kms:Encrypt", *notShared.Arn, noResource)},
		{name: "ScheduleKeyDeletion across accounts is not found", rule: "key-policy-modifying-external-accounts.md: permission for other operations has no effect (kms:ScheduleKeyDeletion)",
			run: func(t *testing.T) error {
				_, err := ext.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: shared.Arn})
				return err
			},
			code: nf, msg: *shared.Arn},
		{name: "PutKeyPolicy across accounts is not found", rule: "key-policy-modifying-external-accounts.md; kms-api-permissions-reference.md: PutKeyPolicy is not cross-account",
			run:  func(t *testing.T) error { return e.putPolicy(ext, *shared.Arn, doc(rootStmt), false) },
			code: nf, msg: *shared.Arn},
		{name: "TagResource across accounts is not found", rule: "kms-api-permissions-reference.md: TagResource is not cross-account",
			run: func(t *testing.T) error {
				_, err := ext.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: shared.Arn, Tags: []types.Tag{{TagKey: aws.String("a"), TagValue: aws.String("b")}}})
				return err
			},
			code: nf, msg: *shared.Arn},
		{name: "a grant to an external principal", rule: "grants.md#about-grants: you can create a grant for a KMS key in a different AWS account; the grantee can be in a different account",
			run: func(t *testing.T) error { return e.enc(extGrantee, *shared.Arn, nil) }},
		{name: "Principal * with kms:CallerAccount excludes another account", rule: "conditions-kms.md#conditions-kms-caller-account",
			run:  func(t *testing.T) error { return e.enc(ext, *callerAcctKey.Arn, nil) },
			code: ad, msg: denied(ea("ext"), "kms:Encrypt", *callerAcctKey.Arn, noResource)},
		{name: "aws:PrincipalOrgID: a member account of the organization", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalorgid",
			run: func(t *testing.T) error { return e.enc(ext, *orgKey.Arn, nil) }},
		{name: "aws:PrincipalOrgID: another organization", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalorgid",
			run:  func(t *testing.T) error { return e.enc(ext, *otherOrgKey.Arn, nil) },
			code: ad, msg: denied(ea("ext"), "kms:Encrypt", *otherOrgKey.Arn, noResource)},
		{name: "aws:PrincipalOrgID: a management account user without IAM policy", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalorgid; reference_policies_elements_principal.md: Principal * in a resource-based policy",
			run: func(t *testing.T) error { return e.enc(mgmtUser, *orgKey.Arn, nil) }},
	}
	runAuthz(t, cases)
}
