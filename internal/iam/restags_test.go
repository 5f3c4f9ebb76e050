package iam

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/orgapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// A Deny on a resource's tags fires on IAM, STS and Organizations actions
// on tagged resources (IAM User Guide, reference_policies_condition-keys:
// aws:ResourceTag is in the request context when the requested resource
// has tags; reference_policies_iam-condition-keys: iam:ResourceTag for IAM
// and STS), and only on the tagged ones. Before these requests carried
// the keys, such a Deny was accepted and never fired.
func TestResourceTagDenyFires(t *testing.T) {
	guard := []iamapi.Tag{{Key: wire.Ptr("Guard"), Value: wire.Ptr("yes")}}
	orgGuard := []orgapi.Tag{{Key: wire.Ptr("Guard"), Value: wire.Ptr("yes")}}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/prober"},"Action":"sts:AssumeRole"}]}`
	scp := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`
	type resources struct{ tagged, plain string }
	tests := []struct {
		name   string
		key    string // the condition key the Deny names
		action string
		setup  func(t *testing.T, d *Directory, root Call, tags bool) string
		do     func(d *Directory, c Call, id string) error
	}{
		{"DeleteRole", "aws:ResourceTag/guard", "iam:DeleteRole",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				in := &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)}
				if tags {
					in.Tags = guard
				}
				ok(d.CreateRole(context.Background(), root, in))(t)
				return name
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.DeleteRole(context.Background(), c, &iamapi.DeleteRoleRequest{RoleName: wire.Ptr(id)})
				return err
			}},
		{"DeleteUser iam:ResourceTag", "iam:ResourceTag/Guard", "iam:DeleteUser",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				in := &iamapi.CreateUserRequest{UserName: wire.Ptr(name)}
				if tags {
					in.Tags = guard
				}
				ok(d.CreateUser(context.Background(), root, in))(t)
				return name
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.DeleteUser(context.Background(), c, &iamapi.DeleteUserRequest{UserName: wire.Ptr(id)})
				return err
			}},
		{"DeletePolicy", "aws:ResourceTag/guard", "iam:DeletePolicy",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				in := &iamapi.CreatePolicyRequest{PolicyName: wire.Ptr(name), PolicyDocument: wire.Ptr(scp)}
				if tags {
					in.Tags = guard
				}
				return *ok(d.CreatePolicy(context.Background(), root, in))(t).Policy.Arn
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.DeletePolicy(context.Background(), c, &iamapi.DeletePolicyRequest{PolicyArn: wire.Ptr(id)})
				return err
			}},
		{"DeleteOpenIDConnectProvider", "aws:ResourceTag/guard", "iam:DeleteOpenIDConnectProvider",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				u := map[bool]string{true: "https://tagged.example.com", false: "https://plain.example.com"}[tags]
				in := &iamapi.CreateOpenIDConnectProviderRequest{Url: wire.Ptr(u), ClientIDList: []string{"sts.amazonaws.com"}}
				if tags {
					in.Tags = guard
				}
				return *ok(d.CreateOpenIDConnectProvider(context.Background(), root, in))(t).OpenIDConnectProviderArn
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.DeleteOpenIDConnectProvider(context.Background(), c, &iamapi.DeleteOpenIDConnectProviderRequest{OpenIDConnectProviderArn: wire.Ptr(id)})
				return err
			}},
		{"AssumeRole", "aws:ResourceTag/guard", "sts:AssumeRole",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				in := &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)}
				if tags {
					in.Tags = guard
				}
				return *ok(d.CreateRole(context.Background(), root, in))(t).Role.Arn
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.AssumeRole(context.Background(), c, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(id), RoleSessionName: wire.Ptr("s")})
				return err
			}},
		{"AssumeRole iam:ResourceTag", "iam:ResourceTag/guard", "sts:AssumeRole",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				in := &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)}
				if tags {
					in.Tags = guard
				}
				return *ok(d.CreateRole(context.Background(), root, in))(t).Role.Arn
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.AssumeRole(context.Background(), c, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr(id), RoleSessionName: wire.Ptr("s")})
				return err
			}},
		{"organizations DeletePolicy", "aws:ResourceTag/guard", "organizations:DeletePolicy",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				in := &orgapi.CreatePolicyRequest{Type: wire.Ptr(scpType), Name: wire.Ptr(name), Description: wire.Ptr(""), Content: wire.Ptr(scp)}
				if tags {
					in.Tags = orgGuard
				}
				return *ok(d.CreateOrgPolicy(context.Background(), root, in))(t).Policy.PolicySummary.Id
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.DeleteOrgPolicy(context.Background(), c, &orgapi.DeletePolicyRequest{PolicyId: wire.Ptr(id)})
				return err
			}},
		{"organizations DeleteOrganizationalUnit", "aws:ResourceTag/guard", "organizations:DeleteOrganizationalUnit",
			func(t *testing.T, d *Directory, root Call, tags bool) string {
				name := map[bool]string{true: "tagged", false: "plain"}[tags]
				roots := ok(d.ListRoots(context.Background(), root, &orgapi.ListRootsRequest{}))(t)
				in := &orgapi.CreateOrganizationalUnitRequest{ParentId: roots.Roots[0].Id, Name: wire.Ptr(name)}
				if tags {
					in.Tags = orgGuard
				}
				return *ok(d.CreateOrganizationalUnit(context.Background(), root, in))(t).OrganizationalUnit.Id
			},
			func(d *Directory, c Call, id string) error {
				_, err := d.DeleteOrganizationalUnit(context.Background(), c, &orgapi.DeleteOrganizationalUnitRequest{OrganizationalUnitId: wire.Ptr(id)})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, c := proberIn(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
				{"Effect":"Deny","Action":"`+tt.action+`","Resource":"*","Condition":{"StringEquals":{"`+tt.key+`":"yes"}}}]}`)
			root := rootCall(t, d)
			r := resources{tagged: tt.setup(t, d, root, true), plain: tt.setup(t, d, root, false)}
			err := tt.do(d, c, r.tagged)
			var we *wire.Error
			if !errors.As(err, &we) || !strings.Contains(we.Code, "AccessDenied") {
				t.Fatalf("%s on a resource tagged Guard=yes under a Deny on %s: %v, want AccessDenied", tt.action, tt.key, err)
			}
			if err := tt.do(d, c, r.plain); err != nil {
				t.Fatalf("%s on an untagged resource: %v", tt.action, err)
			}
		})
	}
}

// proberIn makes an organization whose management account has the user
// prober with the inline policy doc, and returns prober's call.
func proberIn(t *testing.T, doc string) (*Directory, Call) {
	t.Helper()
	d, _, root := newDirectory(t)
	ctx := context.Background()
	ok(d.CreateOrganization(ctx, root, &orgapi.CreateOrganizationRequest{}))(t)
	ok(d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("prober")}))(t)
	ok(d.PutUserPolicy(ctx, root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("prober"), PolicyName: wire.Ptr("p"), PolicyDocument: wire.Ptr(doc)}))(t)
	id, err := d.IdentityForARN("arn:aws:iam::111122223333:user/prober")
	if err != nil {
		t.Fatal(err)
	}
	return d, Call{Identity: id, Request: authz.Request{Time: d.now()}}
}

func rootCall(t *testing.T, d *Directory) Call {
	t.Helper()
	id, err := d.Identity("AKIAROOT")
	if err != nil {
		t.Fatal(err)
	}
	return Call{Identity: id, Request: authz.Request{Time: d.now()}}
}

// ok returns a call's value, failing the test on its error.
func ok[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Organizations tag keys are case-sensitive, so a request may tag Env and
// env at once; as condition keys (whose names are not case-sensitive) they
// are one ambiguous aws:RequestTag/env, and an Allow on one of its values
// does not allow the request that also carries the other.
func TestRequestTagsDifferingInCaseFailClosed(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:CreatePolicy","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/env":"dev"}}}]}`
	d, c := proberIn(t, doc)
	root := rootCall(t, d)
	ok(d.EnablePolicyType(context.Background(), root, &orgapi.EnablePolicyTypeRequest{RootId: ok(d.ListRoots(context.Background(), root, &orgapi.ListRootsRequest{}))(t).Roots[0].Id, PolicyType: wire.Ptr("SERVICE_CONTROL_POLICY")}))(t)
	create := func(name string, tags ...orgapi.Tag) error {
		_, err := d.CreateOrgPolicy(context.Background(), c, &orgapi.CreatePolicyRequest{Name: wire.Ptr(name), Description: wire.Ptr(""), Type: wire.Ptr("SERVICE_CONTROL_POLICY"),
			Content: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`), Tags: tags})
		return err
	}
	tag := func(k, v string) orgapi.Tag { return orgapi.Tag{Key: wire.Ptr(k), Value: wire.Ptr(v)} }
	if err := create("dev", tag("env", "dev")); err != nil {
		t.Fatalf("CreatePolicy tagged env=dev: %v", err)
	}
	var we *wire.Error
	if err := create("both", tag("env", "dev"), tag("Env", "prod")); !errors.As(err, &we) || !strings.Contains(we.Code, "AccessDenied") {
		t.Fatalf("CreatePolicy tagged env=dev and Env=prod under an Allow on env=dev: %v, want AccessDenied", err)
	}
}
