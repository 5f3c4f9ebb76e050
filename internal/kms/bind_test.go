package kms

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/kmsapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

const (
	bindAcct      = "111122223333"
	ruleUserBound = "IAM User Guide, reference_policies_elements_principal.md, \"IAM user principals\": IAM transforms the ARN to the user's unique principal ID when you save the policy; the new user has a new principal ID that does not match"
	ruleRoleBound = "IAM User Guide, reference_policies_elements_principal.md, \"IAM role principals\": the ARN transforms to the role unique principal ID when you save the policy; the new role has a new principal ID that does not match"
)

// iamEnv is KMS wired to a real IAM directory on the same store, as the
// server wires them: the directory resolves the principals that key
// policies and grants name.
type iamEnv struct {
	t      testing.TB
	ctx    context.Context
	st     store.Store
	sealer *seal.Sealer
	clk    *clock
	ids    *iam.Directory
	s      *Service
	root   iam.Call
	keys   map[string]string // user name → access key id
}

func newIAMEnv(t testing.TB) *iamEnv {
	t.Helper()
	base := newEnv(t)
	e := &iamEnv{t: t, ctx: context.Background(), st: base.st, sealer: base.sealer, clk: base.clock, ids: base.ids, s: base.s, keys: map[string]string{}}
	e.root = e.iamCall("AKIAROOT")
	return e
}

func (e *iamEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *iamEnv) iamCall(accessKeyID string) iam.Call {
	e.t.Helper()
	id, err := e.ids.Identity(accessKeyID)
	e.must(err)
	return iam.Call{Identity: id, Request: authz.Request{Time: e.clk.Now()}}
}

// caller is the KMS caller of an access key.
func (e *iamEnv) caller(accessKeyID string) Caller {
	e.t.Helper()
	c := e.iamCall(accessKeyID)
	return Caller{Account: c.Identity.Account, ARN: c.Identity.ARN, Region: "us-east-1", Identity: c.Identity, Request: c.Request}
}

func (e *iamEnv) user(name string) string {
	e.t.Helper()
	_, err := e.ids.CreateUser(e.ctx, e.root, &iamapi.CreateUserRequest{UserName: wire.Ptr(name)})
	e.must(err)
	k, err := e.ids.CreateAccessKey(e.ctx, e.root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr(name)})
	e.must(err)
	e.keys[name] = *k.AccessKey.AccessKeyId
	return *k.AccessKey.AccessKeyId
}

func (e *iamEnv) deleteUser(name string) {
	e.t.Helper()
	_, err := e.ids.DeleteAccessKey(e.ctx, e.root, &iamapi.DeleteAccessKeyRequest{UserName: wire.Ptr(name), AccessKeyId: wire.Ptr(e.keys[name])})
	e.must(err)
	_, err = e.ids.DeleteUser(e.ctx, e.root, &iamapi.DeleteUserRequest{UserName: wire.Ptr(name)})
	e.must(err)
}

func (e *iamEnv) role(name, trustedUser string) string {
	e.t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + bindAcct + `:user/` + trustedUser + `"},"Action":"sts:AssumeRole"}]}`
	out, err := e.ids.CreateRole(e.ctx, e.root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)})
	e.must(err)
	return *out.Role.Arn
}

// session assumes a role as a user and returns the session's access key id.
func (e *iamEnv) session(user, roleARN, name string) string {
	e.t.Helper()
	out, err := e.ids.AssumeRole(e.ctx, e.iamCall(e.keys[user]), &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(roleARN), RoleSessionName: wire.Ptr(name)})
	e.must(err)
	return *out.Credentials.AccessKeyId
}

func (e *iamEnv) encrypt(s *Service, c Caller, keyID string) error {
	_, err := s.Encrypt(e.ctx, c, &kmsapi.EncryptRequest{KeyId: wire.Ptr(keyID), Plaintext: []byte("data")})
	return err
}

func keyPolicyNaming(principal string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"use","Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":["kms:Encrypt","kms:DescribeKey"],"Resource":"*"}]}`
}

// A key policy naming a user keeps naming that user: a new user of the same
// name is denied, GetKeyPolicy shows the deleted user's unique id, and
// saving the policy again binds the ARN to the new user.
func TestKeyPolicyBindsUser(t *testing.T) {
	e := newIAMEnv(t)
	aliceARN := "arn:aws:iam::111122223333:user/alice"
	alice := e.caller(e.user("alice"))
	doc := keyPolicyNaming(aliceARN)
	root := e.caller("AKIAROOT")
	out, err := e.s.CreateKey(e.ctx, root, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(doc)})
	e.must(err)
	keyID := *out.KeyMetadata.KeyId
	if err := e.encrypt(e.s, alice, keyID); err != nil {
		t.Fatalf("the user the key policy names: %v", err)
	}
	shown := func() string {
		p, err := e.s.GetKeyPolicy(e.ctx, root, &kmsapi.GetKeyPolicyRequest{KeyId: wire.Ptr(keyID)})
		e.must(err)
		return *p.Policy
	}
	if got := shown(); got != doc {
		t.Fatalf("%s: GetKeyPolicy while the user exists = %s", ruleUserBound, got)
	}

	e.deleteUser("alice")
	newAlice := e.caller(e.user("alice"))
	if err := e.encrypt(e.s, newAlice, keyID); code(err) != "AccessDeniedException" {
		t.Fatalf("%s: a new user of the same name: %v, want AccessDeniedException", ruleUserBound, err)
	}
	displayed := shown()
	if want := keyPolicyNaming(alice.Identity.UserID); displayed != want {
		t.Fatalf("%s (the principal ID appears once the ARN no longer maps to it):\ngot  %s\nwant %s", ruleUserBound, displayed, want)
	}
	// The displayed policy saves back as it is, and still names the deleted user.
	_, err = e.s.PutKeyPolicy(e.ctx, root, &kmsapi.PutKeyPolicyRequest{KeyId: wire.Ptr(keyID), Policy: wire.Ptr(displayed)})
	e.must(err)
	if err := e.encrypt(e.s, newAlice, keyID); code(err) != "AccessDeniedException" {
		t.Fatalf("%s: after saving the displayed policy: %v", ruleUserBound, err)
	}
	_, err = e.s.PutKeyPolicy(e.ctx, root, &kmsapi.PutKeyPolicyRequest{KeyId: wire.Ptr(keyID), Policy: wire.Ptr(doc)})
	e.must(err)
	if err := e.encrypt(e.s, newAlice, keyID); err != nil {
		t.Fatalf("%s (the ARN once again transforms into the new principal ID when you save the policy): %v", ruleUserBound, err)
	}
}

// AWS refuses a key policy naming a user or role that does not exist
// (key-policy-overview.md: principals must exist), whatever else it binds.
func TestKeyPolicyRefusesUnknownPrincipal(t *testing.T) {
	e := newIAMEnv(t)
	_, err := e.s.CreateKey(e.ctx, e.caller("AKIAROOT"), &kmsapi.CreateKeyRequest{Policy: wire.Ptr(keyPolicyNaming("arn:aws:iam::111122223333:role/nobody"))})
	if code(err) != "MalformedPolicyDocumentException" || !strings.Contains(err.Error(), "invalid principals") {
		t.Fatalf("CreateKey naming an unknown role: %v", err)
	}
}

// CreateGrant refuses a grantee or retiring principal naming a user or role
// that does not exist with InvalidArnException (the API's "a specified ARN
// ... is not valid"; AWS answers it for a role it cannot find yet, which
// terraform-provider-aws's aws_kms_grant retries on), in a DryRun too, as
// a key policy naming one is refused (key-policy-overview.md). The grant
// would bind to nothing and allow no one. A caller who may not create
// grants learns only AccessDenied, not whether the entity exists.
func TestCreateGrantRefusesUnknownPrincipal(t *testing.T) {
	e := newIAMEnv(t)
	e.user("alice")
	root := e.caller("AKIAROOT")
	out, err := e.s.CreateKey(e.ctx, root, &kmsapi.CreateKeyRequest{})
	e.must(err)
	keyID := out.KeyMetadata.KeyId
	const nobody, ghost = "arn:aws:iam::111122223333:user/nobody", "arn:aws:iam::111122223333:role/ghost"
	for name, in := range map[string]*kmsapi.CreateGrantRequest{
		"an unknown user grantee":            {GranteePrincipal: wire.Ptr(nobody)},
		"an unknown role grantee":            {GranteePrincipal: wire.Ptr(ghost)},
		"an unknown retiring role":           {GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/alice"), RetiringPrincipal: wire.Ptr(ghost)},
		"an unknown role grantee, in DryRun": {GranteePrincipal: wire.Ptr(ghost), DryRun: wire.Ptr(true)},
	} {
		in.KeyId, in.Operations = keyID, []string{"Decrypt"}
		if _, err := e.s.CreateGrant(e.ctx, root, in); code(err) != "InvalidArnException" {
			t.Errorf("CreateGrant to %s: %v, want InvalidArnException", name, err)
		}
	}
	alice := e.caller(e.keys["alice"])
	_, err = e.s.CreateGrant(e.ctx, alice, &kmsapi.CreateGrantRequest{KeyId: keyID, GranteePrincipal: wire.Ptr(ghost), Operations: []string{"Decrypt"}})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("CreateGrant to an unknown role by a caller who may not create grants: %v, want AccessDeniedException", err)
	}
	if _, err := e.s.CreateGrant(e.ctx, root, &kmsapi.CreateGrantRequest{KeyId: keyID, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/alice"), Operations: []string{"Decrypt"}}); err != nil {
		t.Fatalf("CreateGrant to a user that exists: %v", err)
	}
}

// A grant to a role keeps naming that role: the session of a role created
// again under the name neither uses nor retires it.
func TestGrantBindsRole(t *testing.T) {
	e := newIAMEnv(t)
	e.user("alice")
	roleARN := e.role("app", "alice")
	root := e.caller("AKIAROOT")
	out, err := e.s.CreateKey(e.ctx, root, &kmsapi.CreateKeyRequest{})
	e.must(err)
	keyID := *out.KeyMetadata.KeyId
	g, err := e.s.CreateGrant(e.ctx, root, &kmsapi.CreateGrantRequest{KeyId: wire.Ptr(keyID), GranteePrincipal: wire.Ptr(roleARN), RetiringPrincipal: wire.Ptr(roleARN), Operations: []string{"Encrypt"}})
	e.must(err)
	if err := e.encrypt(e.s, e.caller(e.session("alice", roleARN, "s1")), keyID); err != nil {
		t.Fatalf("KMS Developer Guide, grants.md (grantee principal): a session of the grantee role: %v", err)
	}

	if _, err := e.ids.DeleteRole(e.ctx, e.root, &iamapi.DeleteRoleRequest{RoleName: wire.Ptr("app")}); err != nil {
		t.Fatal(err)
	}
	e.role("app", "alice")
	again := e.caller(e.session("alice", roleARN, "s2"))
	if err := e.encrypt(e.s, again, keyID); code(err) != "AccessDeniedException" {
		t.Fatalf("%s: a session of the role created again uses the grant: %v", ruleRoleBound, err)
	}
	_, err = e.s.RetireGrant(e.ctx, again, &kmsapi.RetireGrantRequest{KeyId: wire.Ptr(keyID), GrantId: g.GrantId})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("%s: a session of the role created again retires the grant: %v", ruleRoleBound, err)
	}
}

// Key policies and grants stored before binding are bound when KMS loads,
// to the users that hold the names then, and the bindings are stored.
func TestLegacyRecordsAreBoundOnLoad(t *testing.T) {
	e := newIAMEnv(t)
	aliceKey := e.user("alice")
	bobKey := e.user("bob")
	root := e.caller("AKIAROOT")
	out, err := e.s.CreateKey(e.ctx, root, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(keyPolicyNaming("arn:aws:iam::111122223333:user/alice"))})
	e.must(err)
	keyID := *out.KeyMetadata.KeyId
	_, err = e.s.CreateGrant(e.ctx, root, &kmsapi.CreateGrantRequest{KeyId: wire.Ptr(keyID), GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/bob"), Operations: []string{"Encrypt"}})
	e.must(err)
	// Strip the bindings, as older versions stored the records (inline
	// policy, no index record: the upgrade to schema 3 writes it).
	k := e.s.view.testKey("us-east-1", keyID)
	rec := cloneRecord(k.rec)
	rec.PolicyBindings, rec.PolicyRef = nil, ""
	g := e.s.view.grantList("us-east-1", keyID)[0]
	grec := g.rec
	grec.Bindings = nil
	e.must(e.s.commit(e.ctx, store.Txn{Puts: []store.KV{
		{Key: keyPath(bindAcct, "us-east-1", keyID), Value: marshal(rec)},
		{Key: grantPath(bindAcct, "us-east-1", keyID, grec.ID), Value: marshal(grec)},
	}, Deletes: []string{keyIndexPath(bindAcct, "us-east-1", keyID)}}))
	e.must(Upgrade(e.ctx, e.st, 2))
	ix, err := e.st.Get(e.ctx, keyIndexPath(bindAcct, "us-east-1", keyID))
	e.must(err)
	e.must(e.s.follower.Wait(e.ctx, ix.ModRev))
	alice, bob := e.caller(aliceKey), e.caller(bobKey)
	if err := e.encrypt(e.s, alice, keyID); code(err) != "AccessDeniedException" {
		t.Fatalf("an unbound stored key policy must match no user until bound (fail closed): %v", err)
	}
	if err := e.encrypt(e.s, bob, keyID); code(err) != "AccessDeniedException" {
		t.Fatalf("an unbound stored grant must match no user until bound (fail closed): %v", err)
	}

	s2, err := New(e.ctx, e.st, e.sealer, Options{Now: e.clk.Now, SweepInterval: time.Hour, Principals: e.ids})
	e.must(err)
	k2 := s2.view.testKey("us-east-1", keyID)
	if got := k2.rec.PolicyBindings["arn:aws:iam::111122223333:user/alice"]; got != alice.Identity.UserID {
		t.Fatalf("key policy bindings after load = %v", k2.rec.PolicyBindings)
	}
	if got := s2.view.grantList("us-east-1", keyID)[0].rec.Bindings["arn:aws:iam::111122223333:user/bob"]; got != bob.Identity.UserID {
		t.Fatalf("grant bindings after load = %v", s2.view.grantList("us-east-1", keyID)[0].rec.Bindings)
	}
	for who, c := range map[string]Caller{"alice (key policy)": alice, "bob (grant)": bob} {
		if err := e.encrypt(s2, c, keyID); err != nil {
			t.Fatalf("%s after binding: %v", who, err)
		}
	}
}

// Keys with the same policy share one compiled policy: most have the
// default policy, which binds nothing; a policy binding principals is shared
// only with the same bindings.
func TestKeyPoliciesAreShared(t *testing.T) {
	e := newIAMEnv(t)
	root := e.caller("AKIAROOT")
	e.user("alice")
	var ks []*key
	for _, p := range []*string{nil, nil, wire.Ptr(keyPolicyNaming("arn:aws:iam::111122223333:user/alice"))} {
		out, err := e.s.CreateKey(e.ctx, root, &kmsapi.CreateKeyRequest{Policy: p})
		e.must(err)
		ks = append(ks, e.s.view.testKey("us-east-1", *out.KeyMetadata.KeyId))
	}
	if ks[0].policy == nil || ks[0].policy != ks[1].policy || ks[2].policy == ks[0].policy {
		t.Fatalf("compiled policies: %p %p %p; want the first two shared", ks[0].policy, ks[1].policy, ks[2].policy)
	}
	_, err := e.s.PutKeyPolicy(e.ctx, root, &kmsapi.PutKeyPolicyRequest{KeyId: wire.Ptr(ks[2].rec.ID), Policy: wire.Ptr(DefaultPolicy(bindAcct))})
	e.must(err)
	if k := e.s.view.testKey("us-east-1", ks[2].rec.ID); k.policy != ks[0].policy {
		t.Fatalf("after PutKeyPolicy of the default policy: %p, want %p", k.policy, ks[0].policy)
	}
}

// The retiring principal of a grant may retire it only within the limits
// that bind every request: the service control policies of its account must
// allow kms:RetireGrant and none may deny it (reference_policies_evaluation-logic.md,
// "Organizations SCPs": "If the enforcement code does not find any applicable
// Allow statements in the SCPs, the request is explicitly denied"), and a VPC
// endpoint's policy must allow it.
func TestRetireGrantWithinSCPsAndEndpointPolicy(t *testing.T) {
	e := newIAMEnv(t)
	root := e.caller("AKIAROOT")
	out, err := e.s.CreateKey(e.ctx, root, &kmsapi.CreateKeyRequest{})
	e.must(err)
	keyID := *out.KeyMetadata.KeyId
	svc := iamUser(e.ids, "svc")
	compile := func(doc string) *policy.Policy {
		p, err := policy.Compile([]byte(doc), policy.Options{Kind: policy.IdentityKind})
		e.must(err)
		return p
	}
	for _, tt := range []struct {
		name string
		id   *authz.Identity
		req  authz.Request
	}{
		{"an SCP denies kms:RetireGrant", &authz.Identity{Principal: svc.Principal, SCPs: []authz.Guardrail{{Policies: []*policy.Policy{
			compile(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}]}`)}}}}, authz.Request{}},
		{"no SCP allows kms:RetireGrant", &authz.Identity{Principal: svc.Principal, SCPs: []authz.Guardrail{{Policies: []*policy.Policy{
			compile(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`)}}}}, authz.Request{}},
		{"the endpoint policy does not allow kms:RetireGrant", svc, authz.Request{SourceVpce: "vpce-1", SourceVpc: "vpc-1", Endpoint: func() *policy.Policy {
			p, err := policy.Compile([]byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}]}`), policy.Options{Kind: policy.EndpointKind})
			e.must(err)
			return p
		}()}},
	} {
		g, err := e.s.CreateGrant(e.ctx, root, &kmsapi.CreateGrantRequest{KeyId: wire.Ptr(keyID), GranteePrincipal: wire.Ptr(svc.ARN), RetiringPrincipal: wire.Ptr(svc.ARN), Operations: []string{"Encrypt"}})
		e.must(err)
		tt.req.Time = e.clk.Now()
		c := Caller{Account: svc.Account, ARN: svc.ARN, Region: "us-east-1", Identity: tt.id, Request: tt.req}
		_, err = e.s.RetireGrant(e.ctx, c, &kmsapi.RetireGrantRequest{KeyId: wire.Ptr(keyID), GrantId: g.GrantId})
		if code(err) != "AccessDeniedException" {
			t.Errorf("%s: RetireGrant by the retiring principal: %v, want AccessDeniedException", tt.name, err)
		}
	}
}
