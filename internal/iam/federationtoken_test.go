package iam

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

func allowed(id *authz.Identity, action string, t Call) bool {
	r := &policy.Request{Principal: id.PolicyPrincipal(), Action: action, Resource: "arn:aws:kms:us-east-1:111122223333:key/k", Time: t.Request.Time, Keys: authz.GlobalKeys(id, t.Request)}
	return authz.IdentityBasedVia(id, r, nil).Allowed()
}

// A federated user may do what both its user's policies and its session
// policies allow, nothing without a session policy, no IAM and no STS but
// GetCallerIdentity (STS API reference, GetFederationToken).
func TestGetFederationToken(t *testing.T) {
	e := newMFAEnv(t) // alice, allowed everything
	ctx := context.Background()
	if _, err := e.d.PutUserPolicy(ctx, e.root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("alice"), PolicyName: wire.Ptr("all"),
		PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","sts:GetFederationToken","sts:TagSession"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	alice, _ := e.d.Identity(e.alice.Identity.AccessKeyID)
	c := Call{Identity: alice, Request: e.alice.Request}
	out, err := e.d.GetFederationToken(ctx, c, &stsapi.GetFederationTokenRequest{Name: wire.Ptr("bob"),
		Policy: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:CreateKey"],"Resource":"*"}]}`),
		Tags:   []stsapi.Tag{{Key: wire.Ptr("team"), Value: wire.Ptr("blue")}}})
	if err != nil {
		t.Fatal(err)
	}
	if *out.FederatedUser.Arn != "arn:aws:sts::111122223333:federated-user/bob" || *out.FederatedUser.FederatedUserId != "111122223333:bob" {
		t.Fatalf("federated user %+v", out.FederatedUser)
	}
	fed, err := e.d.Identity(*out.Credentials.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	k := fed.Keys()
	if fed.Type != authz.FederatedUserType || k["aws:principaltype"][0] != "FederatedUser" || k["aws:userid"][0] != "111122223333:bob" || fed.Tags["team"] != "blue" {
		t.Fatalf("identity %+v keys %v", fed, k)
	}
	for action, want := range map[string]bool{"kms:Encrypt": true, "kms:Decrypt": false, "kms:CreateKey": false} {
		if got := allowed(fed, action, c); got != want {
			t.Errorf("%s allowed = %v, want %v (user ∩ session policy)", action, got, want)
		}
	}
	for _, op := range []string{"AssumeRole", "GetSessionToken", "GetFederationToken"} {
		if err := CheckCredentialScope(fed, "sts", op); err == nil {
			t.Errorf("a federated user may call %s", op)
		}
	}
	if err := CheckCredentialScope(fed, "sts", "GetCallerIdentity"); err != nil {
		t.Errorf("GetCallerIdentity: %v", err)
	}
	if err := CheckCredentialScope(fed, "iam", "ListUsers"); err == nil {
		t.Error("a federated user may call IAM")
	}
	// No session policy: no permissions at all.
	bare, err := e.d.GetFederationToken(ctx, c, &stsapi.GetFederationTokenRequest{Name: wire.Ptr("nobody")})
	if err != nil {
		t.Fatal(err)
	}
	none, _ := e.d.Identity(*bare.Credentials.AccessKeyId)
	if allowed(none, "kms:Encrypt", c) {
		t.Error("a federated user without a session policy may encrypt")
	}
	// The root user's federated user: the session policy alone bounds it.
	rootFed, err := e.d.GetFederationToken(ctx, e.root, &stsapi.GetFederationTokenRequest{Name: wire.Ptr("ops"),
		Policy: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	rf, _ := e.d.Identity(*rootFed.Credentials.AccessKeyId)
	if !allowed(rf, "kms:Decrypt", c) || allowed(rf, "kms:Encrypt", c) {
		t.Error("the root user's federated user is not bounded by its session policy")
	}
	// From session credentials: refused.
	st, _ := e.d.GetSessionToken(ctx, c, &stsapi.GetSessionTokenRequest{})
	sid, _ := e.d.Identity(*st.Credentials.AccessKeyId)
	_, err = e.d.GetFederationToken(ctx, Call{Identity: sid, Request: c.Request}, &stsapi.GetFederationTokenRequest{Name: wire.Ptr("x1")})
	wantWireErr(t, err, "AccessDenied", "Cannot call GetFederationToken with session credentials")
	// A user whose policies do not allow sts:GetFederationToken.
	if _, err := e.d.PutUserPolicy(ctx, e.root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("alice"), PolicyName: wire.Ptr("all"),
		PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	alice, _ = e.d.Identity(e.alice.Identity.AccessKeyID)
	_, err = e.d.GetFederationToken(ctx, Call{Identity: alice, Request: c.Request}, &stsapi.GetFederationTokenRequest{Name: wire.Ptr("carol")})
	wantWireErr(t, err, "AccessDenied", "sts:GetFederationToken")
}
