package iam

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// "New session tags override existing assumed role or federated user tags
// with the same tag key, regardless of case" (IAM User Guide,
// id_session-tags.md): a role tagged Team=admin assumed with the session tag
// team=dev has aws:PrincipalTag/team dev, and only dev. Before, both tags
// stayed and which one policies saw depended on map order.
func TestSessionTagOverridesRoleTagOfAnyCase(t *testing.T) {
	d, clk, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutUserPolicy(ctx, root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("bob"), PolicyName: wire.Ptr("assume"),
		PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}}`)}); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":["sts:AssumeRole","sts:TagSession"]}}`
	role, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("app"), AssumeRolePolicyDocument: wire.Ptr(trust),
		Tags: []iamapi.Tag{{Key: wire.Ptr("Team"), Value: wire.Ptr("admin")}, {Key: wire.Ptr("cost"), Value: wire.Ptr("42")}}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := d.CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr("bob")})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := d.Identity(*key.AccessKey.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.AssumeRole(ctx, Call{Identity: bob, Request: authz.Request{Time: clk.Now()}}, &stsapi.AssumeRoleRequest{
		RoleArn: role.Role.Arn, RoleSessionName: wire.Ptr("s"), Tags: []stsapi.Tag{{Key: wire.Ptr("team"), Value: wire.Ptr("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.Identity(*out.Credentials.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Tags) != 2 || id.Tags["team"] != "dev" || id.Tags["cost"] != "42" {
		t.Fatalf("session tags = %v, want team=dev (replacing Team=admin) and cost=42", id.Tags)
	}
	if v := id.Keys()["aws:principaltag/team"]; len(v) != 1 || v[0] != "dev" {
		t.Fatalf("aws:PrincipalTag/team = %v, want [dev]", v)
	}
}
