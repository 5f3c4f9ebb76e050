package e2e

// End-to-end proof of the authorization path over real signed requests: the
// SDK's signature, the identity IAM, STS and Organizations build (groups,
// boundaries, session policies and tags, role ids, organization
// membership), the client's address and transport, and AWS's error on the
// wire. The rules themselves live in the decision corpus
// (internal/authz/testdata/corpus), run in-process against authz and the
// KMS service in milliseconds; each case here cites the rule it checks.

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

// authzCase is one request: run makes it (and any setup it needs) and
// returns its error.
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
	noBoundary
	noSession
	denyIdentity
)

// denied is AWS's AccessDeniedException message.
func denied(caller, action, resource string, why int) string {
	head := "User: " + caller + " is not authorized to perform: " + action + " on resource: " + resource
	switch why {
	case noBoundary:
		return head + " because no permissions boundary allows the " + action + " action"
	case noSession:
		return head + " because no session policy allows the " + action + " action"
	case denyIdentity:
		return head + " with an explicit deny in an identity-based policy"
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

// principal is a Principal element naming AWS principals.
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

// rootStmt is the default key policy's statement: it allows the account and
// so enables IAM policies (key-policy-default.md).
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

// userIn creates an IAM user in the account admin manages, with tags and
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

func (e *authzEnv) user(name string, tags map[string]string, policies ...string) clients {
	e.t.Helper()
	return e.userIn(e.root.iam, name, tags, policies...)
}

// userKeys gives an existing user of the account an access key.
func (e *authzEnv) userKeys(name string) clients {
	e.t.Helper()
	k, err := e.root.iam.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	e.must(err)
	return clientsFor(e.srv, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
}

// role creates a role the assumer may assume, with tags and inline policies.
func (e *authzEnv) role(name string, tags map[string]string, policies ...string) string {
	e.t.Helper()
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy(acct))}
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
// check bypassed.
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

func (e *authzEnv) dec(c clients, blob []byte) error {
	_, err := c.kms.Decrypt(e.ctx, &kms.DecryptInput{CiphertextBlob: blob})
	return err
}

func (e *authzEnv) gdk(c clients, keyID string) error {
	_, err := c.kms.GenerateDataKey(e.ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256})
	return err
}

func (e *authzEnv) grant(c clients, keyID, grantee string, ops []types.GrantOperation, retiring *string, name *string) (*kms.CreateGrantOutput, error) {
	return c.kms.CreateGrant(e.ctx, &kms.CreateGrantInput{KeyId: aws.String(keyID), GranteePrincipal: aws.String(grantee), Operations: ops, RetiringPrincipal: retiring, Name: name})
}

func ops(o ...types.GrantOperation) []types.GrantOperation { return o }

// TestAuthzIdentities: the identity IAM and STS build for a signed request
// (groups, boundaries, session policies, session tags over role tags, the
// role's unique id, temporary-credential keys) and what the connection says
// (aws:SourceIp, aws:SecureTransport) reach the decision, and a denial
// reaches the SDK as AWS's AccessDeniedException, word for word.
func TestAuthzIdentities(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	crypto := allowAll("", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
	cond := func(op, key, value string) string { return `{"` + op + `":{"` + key + `":` + value + `}}` }

	iamAllowed := e.user("iamallowed", nil, crypto)
	noPolicy := e.user("nopolicy", nil)
	_, err := e.root.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("crypto")})
	e.must(err)
	_, err = e.root.iam.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("crypto"), PolicyName: aws.String("enc"), PolicyDocument: aws.String(allowAll("", "kms:Encrypt"))})
	e.must(err)
	grouped := e.user("grouped", nil)
	_, err = e.root.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("crypto"), UserName: aws.String("grouped")})
	e.must(err)
	narrow, err := e.root.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("OnlyDescribe"), PolicyDocument: aws.String(allowAll("", "kms:DescribeKey"))})
	e.must(err)
	bounded := e.user("bounded", nil, crypto)
	_, err = e.root.iam.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("bounded"), PermissionsBoundary: narrow.Policy.Arn})
	e.must(err)
	e.role("Named", nil)
	named := e.session(roleARN(acct, "Named"), "limited", allowAll("", "kms:DescribeKey"), nil)
	namedNarrow := e.session(roleARN(acct, "Named"), "narrow", allowAll("", "kms:DescribeKey"), nil)
	teamPolicy := allowAll(cond("StringEquals", "aws:PrincipalTag/team", `"blue"`), "kms:Encrypt")
	team := e.role("Team", map[string]string{"team": "red"}, teamPolicy)
	blueSess := e.session(team, "blue", "", map[string]string{"team": "blue"})
	redSess := e.session(team, "plain", "", nil)
	uid := e.role("Uid", nil, allowAll(cond("StringLike", "aws:userid", `"AROA*:uid-sess"`), "kms:Encrypt"))
	uidSess := e.session(uid, "uid-sess", "", nil)
	mfa := e.role("Mfa", nil, allowAll(cond("BoolIfExists", "aws:MultiFactorAuthPresent", `"true"`), "kms:Encrypt"))
	mfaSess := e.session(mfa, "m1", "", nil)
	issued := e.role("Issued", nil, allowAll(cond("DateGreaterThan", "aws:TokenIssueTime", `"2020-01-01T00:00:00Z"`), "kms:Encrypt"))
	issuedSess := e.session(issued, "i1", "", nil)
	fromHere := e.user("fromhere", nil, allowAll(cond("IpAddress", "aws:SourceIp", `"127.0.0.1/32"`), "kms:Encrypt"))
	tlsOnly := e.user("tlsonly", nil, allowAll("", "kms:*"), doc(stmt("Deny", "", js("kms:*"), js("*"), cond("Bool", "aws:SecureTransport", `"false"`))))

	def := e.key("", nil)
	namedKey := e.key(doc(rootStmt,
		stmt("Allow", principal(roleARN(acct, "Named")), js("kms:Encrypt", "kms:DescribeKey"), js("*"), ""),
		stmt("Allow", principal(sessionARN(acct, "Named", "narrow")), js("kms:GenerateDataKey"), js("*"), "")), nil)
	blob := e.encrypt(def, nil)
	big := doc(rootStmt, stmt("Allow", principal(rootARN(acct)), js("kms:DescribeKey"), js("*"), `{"StringEquals":{"kms:EncryptionContext:pad":"`+strings.Repeat("p", 33000)+`"}}`))
	ad := "AccessDeniedException"

	runAuthz(t, []authzCase{
		{name: "an IAM allow under the default key policy: Encrypt and Decrypt", rule: "key-policy-default.md#key-policy-default-allow-root-enable-iam",
			run: func(t *testing.T) error {
				if err := e.enc(iamAllowed, *def.KeyId, nil); err != nil {
					return err
				}
				return e.dec(iamAllowed, blob)
			}},
		{name: "no IAM policy: AWS's message on the wire", rule: "policy-evaluation.md#example-no-iam",
			run:  func(t *testing.T) error { return e.enc(noPolicy, *def.KeyId, nil) },
			code: ad, msg: denied(userARN(acct, "nopolicy"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "a group's policy applies to its member", rule: "iam-user-guide reference_policies_evaluation-logic.md#policy-eval-denyallow: a user's policies include its groups'",
			run: func(t *testing.T) error { return e.enc(grouped, *def.KeyId, nil) }},
		{name: "a permissions boundary set through IAM", rule: "iam-user-guide access_policies_boundaries.md#access_policies_boundaries-eval-logic",
			run:  func(t *testing.T) error { return e.enc(bounded, *def.KeyId, nil) },
			code: ad, msg: denied(userARN(acct, "bounded"), "kms:Encrypt", *def.Arn, noBoundary)},
		{name: "a session policy passed to AssumeRole limits a key policy naming the role", rule: "iam-user-guide reference_policies_evaluation-logic.md#policy-eval-denyallow: resource-based policies naming a role ARN are limited by a session policy",
			run:  func(t *testing.T) error { return e.enc(named, *namedKey.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Named", "limited"), "kms:Encrypt", *namedKey.Arn, noSession)},
		{name: "a key policy naming the session's ARN is not limited by it", rule: "iam-user-guide access_policies_boundaries.md#access_policies_boundaries-eval-logic: permissions granted directly to a session",
			run: func(t *testing.T) error { return e.gdk(namedNarrow, *namedKey.KeyId) }},
		{name: "session tags override the role's tags", rule: "iam-user-guide id_session-tags.md: session tags override role tags with the same key",
			run: func(t *testing.T) error { return e.enc(blueSess, *def.KeyId, nil) }},
		{name: "without session tags, the role's tags", rule: "iam-user-guide id_session-tags.md",
			run:  func(t *testing.T) error { return e.enc(redSess, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Team", "plain"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:userid of a session is the role's unique id and the session name", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-userid",
			run: func(t *testing.T) error { return e.enc(uidSess, *def.KeyId, nil) }},
		{name: "aws:MultiFactorAuthPresent is false for an AssumeRole session without MFA", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-multifactorauthpresent",
			run:  func(t *testing.T) error { return e.enc(mfaSess, *def.KeyId, nil) },
			code: ad, msg: denied(sessionARN(acct, "Mfa", "m1"), "kms:Encrypt", *def.Arn, noIdentity)},
		{name: "aws:TokenIssueTime of a session", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-tokenissuetime",
			run: func(t *testing.T) error { return e.enc(issuedSess, *def.KeyId, nil) }},
		{name: "aws:SourceIp is the client's address", rule: "conditions-aws.md#conditions-aws-ip-address",
			run: func(t *testing.T) error { return e.enc(fromHere, *def.KeyId, nil) }},
		{name: "aws:SecureTransport is false over http", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-securetransport",
			run:  func(t *testing.T) error { return e.enc(tlsOnly, *def.KeyId, nil) },
			code: ad, msg: denied(userARN(acct, "tlsonly"), "kms:Encrypt", *def.Arn, denyIdentity)},
		{name: "a key policy naming a user that does not exist", rule: "key-policy-overview.md#key-policy-elements: the principal must exist; MalformedPolicyDocumentException",
			run: func(t *testing.T) error {
				_, err := e.root.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: def.KeyId, Policy: aws.String(doc(rootStmt, stmt("Allow", principal(userARN(acct, "ghost")), js("kms:Encrypt"), js("*"), "")))})
				return err
			},
			code: "MalformedPolicyDocumentException", msg: "Policy contains a statement with one or more invalid principals."},
		{name: "a key policy over 32 KB", rule: "resource-limits.md#key-policy-limit: the maximum length of each key policy document is 32 KB (32,768 bytes)",
			run: func(t *testing.T) error {
				_, err := e.root.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: def.KeyId, Policy: aws.String(big)})
				return err
			},
			code: "LimitExceededException", msg: ""},
	})
}

// TestAuthzGrants: grants made, used (with a token at once), listed,
// named and retired over the SDK.
func TestAuthzGrants(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	def := e.key("", nil)
	granter := e.user("granter", nil, allowAll("", "kms:CreateGrant"))
	lister := e.user("lister", nil, allowAll("", "kms:ListGrants"))
	grantee := e.user("grantee", nil)
	retirer := e.user("retirer", nil)
	e.user("stranger", nil)
	u := func(n string) string { return userARN(acct, n) }
	blob := e.encrypt(def, nil)

	main, err := e.grant(granter, *def.KeyId, u("grantee"), ops(types.GrantOperationEncrypt, types.GrantOperationDecrypt), aws.String(u("retirer")), nil)
	e.must(err)
	runAuthz(t, []authzCase{
		{name: "a grant usable at once with its token", rule: "grant-manage.md#using-grant-token: to use the permissions in a grant immediately, use a grant token",
			run: func(t *testing.T) error {
				_, err := grantee.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: def.Arn, Plaintext: []byte("x"), GrantTokens: []string{*main.GrantToken}})
				return err
			}},
		{name: "the grantee decrypts with no policy at all", rule: "grants.md#about-grants",
			run: func(t *testing.T) error { return e.dec(grantee, blob) }},
		{name: "ListGrants filtered by grantee shows the retiring principal", rule: "grant-manage.md#grant-view",
			run: func(t *testing.T) error {
				out, err := lister.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: def.KeyId, GranteePrincipal: aws.String(u("grantee"))})
				if err == nil && (len(out.Grants) != 1 || *out.Grants[0].GrantId != *main.GrantId || *out.Grants[0].RetiringPrincipal != u("retirer")) {
					return fmt.Errorf("ListGrants = %+v", out.Grants)
				}
				return err
			}},
		{name: "Name makes CreateGrant idempotent: same id, new token", rule: "API CreateGrant Name: a retried request with the same name returns the same grant ID with a new grant token",
			run: func(t *testing.T) error {
				first, err := e.grant(e.root, *def.KeyId, u("stranger"), ops(types.GrantOperationDecrypt), nil, aws.String("once"))
				if err != nil {
					return err
				}
				again, err := e.grant(e.root, *def.KeyId, u("stranger"), ops(types.GrantOperationDecrypt), nil, aws.String("once"))
				if err == nil && (*again.GrantId != *first.GrantId || *again.GrantToken == *first.GrantToken) {
					return fmt.Errorf("second CreateGrant = %s/%s, first %s/%s", *again.GrantId, *again.GrantToken, *first.GrantId, *first.GrantToken)
				}
				return err
			}},
		{name: "RetireGrant by the retiring principal", rule: "grants.md#terms-retiring-principal; grant-manage.md#grant-delete",
			run: func(t *testing.T) error {
				_, err := retirer.kms.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: def.Arn, GrantId: main.GrantId})
				return err
			}},
		{name: "a retired grant allows nothing", rule: "grants.md#about-grants: deleting a grant eliminates all permissions that the grant allowed",
			run:  func(t *testing.T) error { return e.dec(grantee, blob) },
			code: "AccessDeniedException", msg: denied(u("grantee"), "kms:Decrypt", *def.Arn, noIdentity)},
	})
}

// TestAuthzCrossAccount: a second account made through Organizations uses
// a key of the first only when the key policy and its own IAM policies allow,
// names the key by ARN, and carries the organization's id
// (aws:PrincipalOrgID) that Organizations gives it.
func TestAuthzCrossAccount(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := e.ctx
	org, err := e.root.orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	e.must(err)
	orgID := *org.Organization.Id
	ca, err := e.root.orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("partner"), Email: aws.String("partner@example.com")})
	e.must(err)
	other := *ca.CreateAccountStatus.AccountId
	// The management account reaches the member through its access role.
	e.user("orgadmin", nil)
	_, err = e.root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("orgadmin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	e.must(err)
	orgAdmin := e.userKeys("orgadmin")
	out, err := orgAdmin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(other, "OrganizationAccountAccessRole")), RoleSessionName: aws.String("setup")})
	e.must(err)
	member := clientsFor(e.srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)

	keysHere := "arn:aws:kms:us-east-1:" + acct + ":key/*"
	ext := e.userIn(member.iam, "ext", nil, doc(stmt("Allow", "", js("kms:Encrypt", "kms:ScheduleKeyDeletion"), js(keysHere), "")))
	extNone := e.userIn(member.iam, "extnone", nil)
	shared := e.key(doc(rootStmt, stmt("Allow", principal(rootARN(other)), js("kms:*"), js("*"), "")), nil)
	_, err = e.root.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/shared"), TargetKeyId: shared.KeyId})
	e.must(err)
	orgKey := e.key(doc(rootStmt, stmt("Allow", `"*"`, js("kms:Encrypt"), js("*"), `{"StringEquals":{"aws:PrincipalOrgID":"`+orgID+`"}}`)), nil)
	ad, nf := "AccessDeniedException", "NotFoundException"

	runAuthz(t, []authzCase{
		{name: "the key policy and the other account's IAM policy", rule: "key-policy-modifying-external-accounts.md: cross-account access requires permission in the key policy and in an IAM policy in the external account",
			run: func(t *testing.T) error { return e.enc(ext, *shared.Arn, nil) }},
		{name: "no IAM policy in the other account", rule: "key-policy-modifying-external-accounts.md: neither the key policy nor the IAM policy alone is sufficient",
			run:  func(t *testing.T) error { return e.enc(extNone, *shared.Arn, nil) },
			code: ad, msg: denied(userARN(other, "extnone"), "kms:Encrypt", *shared.Arn, noIdentity)},
		{name: "an alias ARN across accounts", rule: "key-policy-modifying-external-accounts.md#cross-account-use: use the key ARN or alias ARN",
			run: func(t *testing.T) error { return e.enc(ext, "arn:aws:kms:us-east-1:"+acct+":alias/shared", nil) }},
		{name: "an alias name means the caller's account", rule: "key-policy-modifying-external-accounts.md#cross-account-use",
			run:  func(t *testing.T) error { return e.enc(ext, "alias/shared", nil) },
			code: nf, msg: "alias/shared"},
		{name: "ScheduleKeyDeletion across accounts is not found", rule: "key-policy-modifying-external-accounts.md: permission for other operations has no effect",
			run: func(t *testing.T) error {
				_, err := ext.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: shared.Arn})
				return err
			},
			code: nf, msg: *shared.Arn},
		{name: "aws:PrincipalOrgID of a member account's user", rule: "iam-user-guide reference_policies_condition-keys.md#condition-keys-principalorgid",
			run: func(t *testing.T) error { return e.enc(ext, *orgKey.Arn, nil) }},
	})
}
