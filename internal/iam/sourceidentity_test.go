package iam

import (
	"context"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// A source identity, once set, "cannot be changed during the role session"
// and "persists when a role is used to assume another role"; chaining with a
// different value is denied, and "the source identity in the request
// persists from the first assumed role session. Therefore, both the
// aws:SourceIdentity and sts:SourceIdentity keys are present in the request
// context" (IAM User Guide, id_credentials_temp_control-access_monitor, Role
// chaining and cross-account requirements). When chaining, permission for
// sts:SetSourceIdentity is required in the target role's trust policy
// (same page, Permissions required to set source identity).
func TestSourceIdentityPersistsThroughRoleChaining(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("alice")}); err != nil {
		t.Fatal(err)
	}
	k, err := d.CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr("alice")})
	if err != nil {
		t.Fatal(err)
	}
	alice := callAs(t, d, *k.AccessKey.AccessKeyId)
	role := func(name, trust string) string {
		t.Helper()
		if _, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.PutRolePolicy(ctx, root, &iamapi.PutRolePolicyRequest{RoleName: wire.Ptr(name), PolicyName: wire.Ptr("chain"),
			PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
		return "arn:aws:iam::111122223333:role/" + name
	}
	first := role("first", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"]}]}`)
	// The second role requires the source identity alice of whoever assumes
	// it, as the guide's CriticalRole_2 example does.
	second := role("second", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/first"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"sts:SourceIdentity":"alice","aws:SourceIdentity":"alice"}}}]}`)
	// The open role lets the first and second roles set any source identity.
	open := role("open", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/first","arn:aws:iam::111122223333:role/second"]},"Action":["sts:AssumeRole","sts:SetSourceIdentity"]}]}`)
	// The third trusts the first role but not to set a source identity.
	third := role("third", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/first"},"Action":"sts:AssumeRole"}]}`)

	out, err := d.AssumeRole(ctx, alice, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(first), RoleSessionName: wire.Ptr("s1"), SourceIdentity: wire.Ptr("alice")})
	if err != nil {
		t.Fatal(err)
	}
	s1 := callAs(t, d, *out.Credentials.AccessKeyId)
	if s1.Identity.SourceIdentity != "alice" {
		t.Fatalf("first session's source identity = %q", s1.Identity.SourceIdentity)
	}

	// Another value is refused, and no session is made.
	_, err = d.AssumeRole(ctx, s1, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(open), RoleSessionName: wire.Ptr("s2"), SourceIdentity: wire.Ptr("mallory")})
	if we, ok := err.(*wire.Error); !ok || we.Code != "AccessDenied" ||
		we.Message != "User: arn:aws:sts::111122223333:assumed-role/first/s1 is not authorized to perform: sts:SetSourceIdentity on resource: "+open {
		t.Fatalf("chaining with another source identity: %v", err)
	}
	// The same value, or none, carries alice into the next session, and the
	// trust policy sees it as sts:SourceIdentity.
	for _, si := range []*string{nil, wire.Ptr("alice")} {
		out, err := d.AssumeRole(ctx, s1, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(second), RoleSessionName: wire.Ptr("s2"), SourceIdentity: si})
		if err != nil {
			t.Fatalf("chaining with source identity %v: %v", wire.String(si), err)
		}
		if wire.String(out.SourceIdentity) != "alice" {
			t.Fatalf("AssumeRole answered source identity %q", wire.String(out.SourceIdentity))
		}
		s2 := callAs(t, d, *out.Credentials.AccessKeyId)
		if s2.Identity.SourceIdentity != "alice" || strings.Join(s2.Identity.Keys()["aws:sourceidentity"], ",") != "alice" {
			t.Fatalf("chained session's source identity = %q, aws:SourceIdentity %v", s2.Identity.SourceIdentity, s2.Identity.Keys()["aws:sourceidentity"])
		}
		// And on to a third link: still alice, still unchangeable.
		_, err = d.AssumeRole(ctx, s2, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(open), RoleSessionName: wire.Ptr("s3"), SourceIdentity: wire.Ptr("bob")})
		if we, ok := err.(*wire.Error); !ok || we.Code != "AccessDenied" || !strings.Contains(we.Message, "sts:SetSourceIdentity") {
			t.Fatalf("second link with another source identity: %v", err)
		}
		out, err = d.AssumeRole(ctx, s2, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(open), RoleSessionName: wire.Ptr("s3")})
		if err != nil || wire.String(out.SourceIdentity) != "alice" {
			t.Fatalf("second link without a source identity: %v, %v", out, err)
		}
	}
	// Carrying a source identity sets it on the new session, which the
	// target's trust policy must allow.
	_, err = d.AssumeRole(ctx, s1, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(third), RoleSessionName: wire.Ptr("s4")})
	if we, ok := err.(*wire.Error); !ok || we.Code != "AccessDenied" || !strings.Contains(we.Message, "sts:SetSourceIdentity") {
		t.Fatalf("chaining into a role that does not allow sts:SetSourceIdentity: %v", err)
	}
}
