package iam

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

const (
	// The rules the tests of this file check.
	ruleUserBound = "IAM User Guide, reference_policies_elements_principal.md, \"IAM user principals\": IAM transforms the ARN to the user's unique principal ID when you save the policy; the new user has a new principal ID that does not match"
	ruleRoleBound = "IAM User Guide, reference_policies_elements_principal.md, \"IAM role principals\": the ARN transforms to the role unique principal ID when you save the policy; the new role has a new principal ID that does not match"
	ruleRoleLimit = "IAM User Guide, reference_policies_evaluation-logic.md, Resource-based policies: resource-based policies that grant permissions to an IAM role ARN are limited by an implicit deny in a permissions boundary or session policy"
)

// fixture drives a real directory on a bolt store as its callers do.
type fixture struct {
	t    *testing.T
	d    *Directory
	clk  *clock
	root Call
	ctx  context.Context
	keys map[string]string // user name → its access key id
}

func newFixture(t *testing.T) *fixture {
	d, clk, root := newDirectory(t)
	return &fixture{t: t, d: d, clk: clk, root: root, ctx: context.Background(), keys: map[string]string{}}
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) call(accessKeyID string) Call {
	f.t.Helper()
	id, err := f.d.Identity(accessKeyID)
	f.must(err)
	return Call{Identity: id, Request: authz.Request{Time: f.clk.Now()}}
}

// user creates a user with an access key and inline policies.
func (f *fixture) user(name string, policies ...string) Call {
	f.t.Helper()
	_, err := f.d.CreateUser(f.ctx, f.root, &iamapi.CreateUserRequest{UserName: wire.Ptr(name)})
	f.must(err)
	for i, p := range policies {
		_, err := f.d.PutUserPolicy(f.ctx, f.root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr(name), PolicyName: wire.Ptr("p" + string(rune('0'+i))), PolicyDocument: wire.Ptr(p)})
		f.must(err)
	}
	k, err := f.d.CreateAccessKey(f.ctx, f.root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr(name)})
	f.must(err)
	f.keys[name] = *k.AccessKey.AccessKeyId
	return f.call(*k.AccessKey.AccessKeyId)
}

// deleteUser deletes a user created by user without policies.
func (f *fixture) deleteUser(name string) {
	f.t.Helper()
	_, err := f.d.DeleteAccessKey(f.ctx, f.root, &iamapi.DeleteAccessKeyRequest{UserName: wire.Ptr(name), AccessKeyId: wire.Ptr(f.keys[name])})
	f.must(err)
	_, err = f.d.DeleteUser(f.ctx, f.root, &iamapi.DeleteUserRequest{UserName: wire.Ptr(name)})
	f.must(err)
}

// role creates a role with a trust policy, an optional boundary and an
// inline policy; it returns the role's ARN.
func (f *fixture) role(name, trust string, boundary *string, inline string) string {
	f.t.Helper()
	out, err := f.d.CreateRole(f.ctx, f.root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust), PermissionsBoundary: boundary})
	f.must(err)
	if inline != "" {
		_, err := f.d.PutRolePolicy(f.ctx, f.root, &iamapi.PutRolePolicyRequest{RoleName: wire.Ptr(name), PolicyName: wire.Ptr("inline"), PolicyDocument: wire.Ptr(inline)})
		f.must(err)
	}
	return *out.Role.Arn
}

func (f *fixture) deleteRole(name string) {
	f.t.Helper()
	if r, ok := f.d.Role("111122223333", name); ok && len(r.Inline) > 0 {
		_, err := f.d.DeleteRolePolicy(f.ctx, f.root, &iamapi.DeleteRolePolicyRequest{RoleName: wire.Ptr(name), PolicyName: wire.Ptr("inline")})
		f.must(err)
	}
	_, err := f.d.DeleteRole(f.ctx, f.root, &iamapi.DeleteRoleRequest{RoleName: wire.Ptr(name)})
	f.must(err)
}

// assume calls AssumeRole as c, with an optional session policy, and
// returns the session's access key id.
func (f *fixture) assume(c Call, roleARN, session, sessionPolicy string) (string, error) {
	f.t.Helper()
	in := &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(roleARN), RoleSessionName: wire.Ptr(session)}
	if sessionPolicy != "" {
		in.Policy = wire.Ptr(sessionPolicy)
	}
	out, err := f.d.AssumeRole(f.ctx, c, in)
	if err != nil {
		return "", err
	}
	return *out.Credentials.AccessKeyId, nil
}

func (f *fixture) trustShown(role string) string {
	f.t.Helper()
	out, err := f.d.GetRole(f.ctx, f.root, &iamapi.GetRoleRequest{RoleName: wire.Ptr(role)})
	f.must(err)
	doc, err := url.QueryUnescape(*out.Role.AssumeRolePolicyDocument)
	f.must(err)
	return doc
}

func trustOf(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"}]}`
}

func wantCode(t *testing.T, err error, code, rule string) {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != code {
		t.Fatalf("%s\nerr = %v, want %s", rule, err, code)
	}
}

const (
	userARN      = "arn:aws:iam::111122223333:user/alice"
	allowKMS     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*","sts:AssumeRole"],"Resource":"*"}]}`
	onlyDescribe = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]}`
)

// A trust policy naming a user keeps naming that user: a new user of the
// same name cannot assume the role, and GetRole shows the old user's unique
// id once it is deleted.
func TestTrustPolicyBindsUser(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice")
	roleARN := f.role("target", trustOf(userARN), nil, "")
	if _, err := f.assume(alice, roleARN, "s1", ""); err != nil {
		t.Fatalf("the user the trust policy names: %v", err)
	}
	if got := f.trustShown("target"); got != trustOf(userARN) {
		t.Fatalf("%s: while the user exists GetRole shows the ARN:\n%s", ruleUserBound, got)
	}
	oldID := alice.Identity.UserID
	f.deleteUser("alice")
	newAlice := f.user("alice")
	_, err := f.assume(newAlice, roleARN, "s2", "")
	wantCode(t, err, "AccessDenied", ruleUserBound)
	if got, want := f.trustShown("target"), trustOf(oldID); got != want {
		t.Fatalf("%s (the principal ID appears once the ARN no longer maps to it):\ngot  %s\nwant %s", ruleUserBound, got, want)
	}
	// Saving the trust policy again binds the ARN to the new user.
	_, err = f.d.UpdateAssumeRolePolicy(f.ctx, f.root, &iamapi.UpdateAssumeRolePolicyRequest{RoleName: wire.Ptr("target"), PolicyDocument: wire.Ptr(trustOf(userARN))})
	f.must(err)
	if _, err := f.assume(newAlice, roleARN, "s3", ""); err != nil {
		t.Fatalf("%s (IAM once again transforms the ARN into the new user's principal ID when you save the policy): %v", ruleUserBound, err)
	}
}

// A trust policy naming a role keeps naming that role: a session of a role
// created again under the name cannot assume.
func TestTrustPolicyBindsRole(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice")
	srcARN := f.role("src", trustOf(userARN), nil, "")
	targetARN := f.role("target", trustOf(srcARN), nil, "")
	s1, err := f.assume(alice, srcARN, "s1", "")
	f.must(err)
	if _, err := f.assume(f.call(s1), targetARN, "chained", ""); err != nil {
		t.Fatalf("a session of the role the trust policy names: %v", err)
	}
	f.deleteRole("src")
	f.role("src", trustOf(userARN), nil, "")
	s2, err := f.assume(alice, srcARN, "s2", "")
	f.must(err)
	_, err = f.assume(f.call(s2), targetARN, "chained", "")
	wantCode(t, err, "AccessDenied", ruleRoleBound)
}

// AWS refuses a trust policy naming a user or role that does not exist.
func TestTrustPolicyRefusesUnknownPrincipal(t *testing.T) {
	f := newFixture(t)
	_, err := f.d.CreateRole(f.ctx, f.root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("r"), AssumeRolePolicyDocument: wire.Ptr(trustOf("arn:aws:iam::111122223333:user/nobody"))})
	wantCode(t, err, "MalformedPolicyDocument", ruleUserBound+" (a principal is resolved when the policy is saved)")
	if !strings.Contains(err.Error(), `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/nobody"`) {
		t.Fatalf("message = %v", err)
	}
	// Another account's principals may belong to a real AWS account.
	f.role("r", trustOf("arn:aws:iam::444455556666:user/carol"), nil, "")
}

// The credentials of a session of a deleted role identify no one, even once
// a role of the same name exists again with other permissions; the same for
// GetSessionToken credentials of a deleted user.
func TestSessionOfDeletedEntity(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice")
	roleARN := f.role("app", trustOf(userARN), nil, "")
	sess, err := f.assume(alice, roleARN, "s1", "")
	f.must(err)
	f.call(sess)
	f.deleteRole("app")
	if _, err := f.d.Identity(sess); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("session of a deleted role: %v, want ErrNoIdentity", err)
	}
	f.role("app", trustOf(userARN), nil, allowKMS)
	if id, err := f.d.Identity(sess); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("%s: session of a deleted role after the role is created again resolves to %+v, %v; want ErrNoIdentity", ruleRoleBound, id, err)
	}

	bob := f.user("bob")
	st, err := f.d.GetSessionToken(f.ctx, bob, &stsapi.GetSessionTokenRequest{})
	f.must(err)
	tok := *st.Credentials.AccessKeyId
	f.call(tok)
	f.deleteUser("bob")
	f.user("bob", allowKMS)
	if id, err := f.d.Identity(tok); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("%s: GetSessionToken session of a deleted user resolves to %+v, %v; want ErrNoIdentity", ruleUserBound, id, err)
	}
}

// Sessions stored before sessions carried their role's unique id belong to
// the role that existed when they were issued, not to a later one.
func TestLegacySessionOfRecreatedRole(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice")
	roleARN := f.role("app", trustOf(userARN), nil, "")
	sess, err := f.assume(alice, roleARN, "s1", "")
	f.must(err)
	// Make the record what older versions stored: no role id.
	key := sessionsPrefix + sess
	kv, err := f.d.st.Get(f.ctx, key)
	f.must(err)
	f.d.mu.RLock()
	rec := *f.d.v.sessions[sess]
	f.d.mu.RUnlock()
	rec.RoleID = ""
	f.must(f.d.commit(f.ctx, store.Txn{Compares: []store.Compare{{Key: key, ModRev: kv.ModRev}}, Puts: []store.KV{{Key: key, Value: mustJSON(rec)}}}))
	if _, err := f.d.Identity(sess); err != nil {
		t.Fatalf("legacy session of the role it was issued for: %v", err)
	}
	f.clk.Add(time.Minute)
	f.deleteRole("app")
	f.role("app", trustOf(userARN), nil, allowKMS)
	if id, err := f.d.Identity(sess); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("%s: legacy session resolves to the role created after it was issued: %+v, %v", ruleRoleBound, id, err)
	}
}

// A role session limited by its session policy, or by its role's boundary,
// to kms:DescribeKey cannot become an administrator by assuming a role whose
// trust policy names its role; naming the session itself grants directly.
func TestTrustPolicyLimitedBySessionPolicyAndBoundary(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice")
	boundary, err := f.d.CreatePolicy(f.ctx, f.root, &iamapi.CreatePolicyRequest{PolicyName: wire.Ptr("describe-only"), PolicyDocument: wire.Ptr(onlyDescribe)})
	f.must(err)
	srcARN := f.role("src", trustOf(userARN), nil, allowKMS)
	boundedARN := f.role("bounded", trustOf(userARN), boundary.Policy.Arn, allowKMS)
	adminOfSrc := f.role("admin-src", trustOf(srcARN), nil, allowKMS)
	adminOfBounded := f.role("admin-bounded", trustOf(boundedARN), nil, allowKMS)

	narrow, err := f.assume(alice, srcARN, "narrow", onlyDescribe)
	f.must(err)
	_, err = f.assume(f.call(narrow), adminOfSrc, "escalate", "")
	wantCode(t, err, "AccessDenied", ruleRoleLimit+" (session policy)")
	if !strings.Contains(err.Error(), "because no session policy allows the sts:AssumeRole action") {
		t.Fatalf("message = %v", err)
	}
	wide, err := f.assume(alice, srcARN, "wide", "")
	f.must(err)
	if _, err := f.assume(f.call(wide), adminOfSrc, "ok", ""); err != nil {
		t.Fatalf("%s: a session without limits: %v", ruleRoleLimit, err)
	}

	bounded, err := f.assume(alice, boundedARN, "b", "")
	f.must(err)
	_, err = f.assume(f.call(bounded), adminOfBounded, "escalate", "")
	wantCode(t, err, "AccessDenied", ruleRoleLimit+" (permissions boundary)")
	if !strings.Contains(err.Error(), "because no permissions boundary allows the sts:AssumeRole action") {
		t.Fatalf("message = %v", err)
	}

	// Naming the session ARN grants to the session itself, "not limited by
	// an implicit deny in an identity-based policy, a permissions boundary,
	// or session policy" (same section, IAM role session).
	direct := f.role("admin-session", trustOf("arn:aws:sts::111122223333:assumed-role/src/narrow"), nil, allowKMS)
	if _, err := f.assume(f.call(narrow), direct, "direct", ""); err != nil {
		t.Fatalf("trust policy naming the session ARN: %v", err)
	}
}

// A trust policy that does not allow the caller is answered with STS's own
// text, which names the caller, the action and the role and nothing of the
// trust policy: "User: <caller> is not authorized to perform: sts:AssumeRole
// on resource: <role>" (AWS's answer, as public reports of it quote it), not
// the identity-based text
// ("because no identity-based policy allows …"), which would send the caller
// looking in the wrong policy. The caller's identity policies allowing
// sts:AssumeRole on every role changes nothing.
func TestAssumeRoleTrustPolicyDenialText(t *testing.T) {
	f := newFixture(t)
	f.user("alice")
	bob := f.user("bob", allowKMS)
	roleARN := f.role("target", trustOf(userARN), nil, "")
	_, err := f.assume(bob, roleARN, "s", "")
	wantCode(t, err, "AccessDenied", "a trust policy that does not name the caller")
	want := "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sts:AssumeRole on resource: " + roleARN
	var we *wire.Error
	if errors.As(err, &we); we.Message != want {
		t.Fatalf("message\ngot  %q\nwant %q", we.Message, want)
	}
}

// A user with a permissions boundary may assume a role of its account whose
// trust policy names the user's ARN: "resource-based policies that grant
// permissions to an IAM user ARN … are not limited by an implicit deny in an
// identity-based policy or permissions boundary" (access_policies_boundaries.md).
// A trust policy naming only the account delegates to the user's identity
// policies, which the boundary limits.
func TestTrustPolicyAndUserBoundary(t *testing.T) {
	f := newFixture(t)
	boundary, err := f.d.CreatePolicy(f.ctx, f.root, &iamapi.CreatePolicyRequest{PolicyName: wire.Ptr("describe-only"), PolicyDocument: wire.Ptr(onlyDescribe)})
	f.must(err)
	f.user("alice", allowKMS)
	_, err = f.d.PutUserPermissionsBoundary(f.ctx, f.root, &iamapi.PutUserPermissionsBoundaryRequest{UserName: wire.Ptr("alice"), PermissionsBoundary: boundary.Policy.Arn})
	f.must(err)
	alice := f.call(f.keys["alice"])
	named := f.role("names-alice", trustOf(userARN), nil, "")
	if _, err := f.assume(alice, named, "s", ""); err != nil {
		t.Fatalf("access_policies_boundaries.md (IAM user ARN not limited by the boundary): %v", err)
	}
	account := f.role("names-account", trustOf("111122223333"), nil, "")
	_, err = f.assume(alice, account, "s", "")
	wantCode(t, err, "AccessDenied", "access_policies_boundaries.md: identity-based policies are limited by the boundary")
}

// Trust policies stored before binding are bound when the directory loads,
// to the users and roles that hold the names then, and the binding is kept.
func TestLegacyTrustPolicyIsBoundOnLoad(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice")
	// A role record as older versions stored it: no bindings.
	r, err := f.d.newRole("legacy", "/", trustOf(userARN), "", defaultMaxSession)
	f.must(err)
	key := entityKey("111122223333", roleKind, "legacy")
	f.must(f.d.commit(f.ctx, store.Txn{Compares: []store.Compare{{Key: key}}, Puts: []store.KV{{Key: key, Value: mustJSON(r)}}}))
	_, err = f.assume(alice, RoleARN("111122223333", "/", "legacy"), "s", "")
	wantCode(t, err, "AccessDenied", "an unbound stored trust policy matches no user or role until bound (fail closed)")

	d2, err := New(f.ctx, f.d.st, f.d.sealer, Options{Now: f.clk.Now})
	f.must(err)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { d2.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	stored, ok := d2.Role("111122223333", "legacy")
	if !ok || stored.TrustBindings[userARN] != alice.Identity.UserID {
		t.Fatalf("bindings after load = %v, want %s bound to %s", stored.TrustBindings, userARN, alice.Identity.UserID)
	}
	if _, err := d2.AssumeRole(f.ctx, alice, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(RoleARN("111122223333", "/", "legacy")), RoleSessionName: wire.Ptr("s")}); err != nil {
		t.Fatalf("the bound legacy trust policy: %v", err)
	}
}
