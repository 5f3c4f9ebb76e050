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

// TestEveryServiceConditionKeyIsSet walks the IAM, STS and Organizations
// condition keys Trent accepts (authz.ConditionKeys), and the resource keys
// of their requests, making for each a request of an operation AWS
// documents it for, by a user whose policy denies the operation when the
// key is absent: a request that does not carry it is denied. The KMS and
// global keys of KMS requests are walked in internal/kms.
func TestEveryServiceConditionKeyIsSet(t *testing.T) {
	type probe struct {
		key, action string
		do          func(d *Directory, c Call) error
	}
	probes := []probe{
		{"iam:AWSServiceName", "iam:CreateServiceLinkedRole", func(d *Directory, c Call) error {
			_, err := d.CreateServiceLinkedRole(context.Background(), c, &iamapi.CreateServiceLinkedRoleRequest{AWSServiceName: wire.Ptr(MultiRegionKeysService)})
			return err
		}},
		{"iam:PermissionsBoundary", "iam:CreateUser", func(d *Directory, c Call) error {
			_, err := d.CreateUser(context.Background(), c, &iamapi.CreateUserRequest{UserName: wire.Ptr("bounded"), PermissionsBoundary: wire.Ptr("arn:aws:iam::aws:policy/AdministratorAccess")})
			return err
		}},
		{"iam:PolicyARN", "iam:AttachUserPolicy", func(d *Directory, c Call) error {
			_, err := d.AttachUserPolicy(context.Background(), c, &iamapi.AttachUserPolicyRequest{UserName: wire.Ptr("prober"), PolicyArn: wire.Ptr("arn:aws:iam::aws:policy/AdministratorAccess")})
			return err
		}},
		{"sts:ExternalId", "sts:AssumeRole", assume(func(in *stsapi.AssumeRoleRequest) { in.ExternalId = wire.Ptr("ext-1") })},
		{"sts:RoleSessionName", "sts:AssumeRole", assume(nil)},
		{"sts:SourceIdentity", "sts:AssumeRole", assume(func(in *stsapi.AssumeRoleRequest) { in.SourceIdentity = wire.Ptr("alice") })},
		{"sts:TransitiveTagKeys", "sts:AssumeRole", assume(func(in *stsapi.AssumeRoleRequest) {
			in.Tags, in.TransitiveTagKeys = []stsapi.Tag{{Key: wire.Ptr("team"), Value: wire.Ptr("kms")}}, []string{"team"}
		})},
		{"organizations:PolicyType", "organizations:CreatePolicy", func(d *Directory, c Call) error {
			_, err := d.CreateOrgPolicy(context.Background(), c, &orgapi.CreatePolicyRequest{Type: wire.Ptr(scpType), Name: wire.Ptr("p"), Description: wire.Ptr(""),
				Content: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`)})
			return err
		}},
		// The resource keys of IAM, STS and Organizations requests.
		{"aws:ResourceAccount", "iam:GetUser", func(d *Directory, c Call) error {
			_, err := d.GetUser(context.Background(), c, &iamapi.GetUserRequest{UserName: wire.Ptr("prober")})
			return err
		}},
		{"aws:ResourceOrgID", "sts:AssumeRole", assume(nil)},
		{"aws:ResourceOrgPaths", "organizations:DescribeOrganization", func(d *Directory, c Call) error {
			_, err := d.DescribeOrganization(context.Background(), c, nil)
			return err
		}},
	}
	// A resource's tags, in a request on a tagged user, role assumed and
	// OU (the walk's setup tags them probe=1).
	for _, key := range []string{"aws:ResourceTag/", "iam:ResourceTag/"} {
		probes = append(probes,
			probe{key, "iam:GetUser", func(d *Directory, c Call) error {
				_, err := d.GetUser(context.Background(), c, &iamapi.GetUserRequest{UserName: wire.Ptr("prober")})
				return err
			}},
			probe{key, "sts:AssumeRole", assume(nil)})
	}
	probes = append(probes, probe{"aws:ResourceTag/", "organizations:DescribeOrganizationalUnit", func(d *Directory, c Call) error {
		roots, err := d.ListRoots(context.Background(), c, &orgapi.ListRootsRequest{})
		if err != nil {
			return err
		}
		ous, err := d.ListOrganizationalUnitsForParent(context.Background(), c, &orgapi.ListOrganizationalUnitsForParentRequest{ParentId: roots.Roots[0].Id})
		if err != nil {
			return err
		}
		_, err = d.DescribeOrganizationalUnit(context.Background(), c, &orgapi.DescribeOrganizationalUnitRequest{OrganizationalUnitId: ous.OrganizationalUnits[0].Id})
		return err
	}})
	// Every key of the three services has a probe, and a resource's tags
	// one in each service that sets them.
	probed := map[string]bool{}
	for _, pr := range probes {
		service, _, _ := strings.Cut(pr.action, ":")
		probed[pr.key] = true
		probed[pr.key+"@"+service] = true
	}
	for _, ck := range authz.ConditionKeys {
		var services []string
		switch {
		case ck.When == "tagged-resource" && ck.Service == "*":
			services = []string{"iam", "sts", "organizations"}
		case ck.When == "tagged-resource" && ck.Service == "iam":
			services = []string{"iam", "sts"}
		case ck.Service == "iam" || ck.Service == "sts" || ck.Service == "organizations":
			if !probed[ck.Name] {
				t.Errorf("%s: no request of the walk carries it", ck.Name)
			}
		}
		for _, s := range services {
			if !probed[ck.Name+"@"+s] {
				t.Errorf("%s: no %s request of the walk carries it", ck.Name, s)
			}
		}
	}
	for _, pr := range probes {
		key := pr.key
		if strings.HasSuffix(key, "/") {
			key += "probe" // a family: the key of the tag probe=1
		}
		t.Run(key+"/"+pr.action, func(t *testing.T) {
			d, _, root := newDirectory(t)
			ctx := context.Background()
			if _, err := d.CreateOrganization(ctx, root, &orgapi.CreateOrganizationRequest{}); err != nil {
				t.Fatal(err)
			}
			probeTag := []iamapi.Tag{{Key: wire.Ptr("probe"), Value: wire.Ptr("1")}}
			if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("prober"), Tags: probeTag}); err != nil {
				t.Fatal(err)
			}
			roots, err := d.ListRoots(ctx, root, &orgapi.ListRootsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: roots.Roots[0].Id, Name: wire.Ptr("probe"),
				Tags: []orgapi.Tag{{Key: wire.Ptr("probe"), Value: wire.Ptr("1")}}}); err != nil {
				t.Fatal(err)
			}
			doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
				{"Effect":"Deny","Action":"` + pr.action + `","Resource":"*","Condition":{"Null":{"` + key + `":"true"}}}]}`
			if _, err := d.PutUserPolicy(ctx, root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("prober"), PolicyName: wire.Ptr("probe"), PolicyDocument: wire.Ptr(doc)}); err != nil {
				t.Fatal(err)
			}
			// The role the STS probes assume trusts the prober.
			if _, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("target"), Tags: probeTag,
				AssumeRolePolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/prober"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`)}); err != nil {
				t.Fatal(err)
			}
			id, err := d.IdentityForARN("arn:aws:iam::111122223333:user/prober")
			if err != nil {
				t.Fatal(err)
			}
			err = pr.do(d, Call{Identity: id, Request: authz.Request{Time: d.now()}})
			var we *wire.Error
			if errors.As(err, &we) && strings.Contains(we.Code, "AccessDenied") {
				t.Fatalf("the %s request does not carry %s: %v", pr.action, key, err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func assume(edit func(*stsapi.AssumeRoleRequest)) func(*Directory, Call) error {
	return func(d *Directory, c Call) error {
		in := &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr("arn:aws:iam::111122223333:role/target"), RoleSessionName: wire.Ptr("probe")}
		if edit != nil {
			edit(in)
		}
		_, err := d.AssumeRole(context.Background(), c, in)
		return err
	}
}

// IAM refuses identity policies, and STS session policies, with a condition
// key of a served service that no request carries.
func TestUnsupportedConditionKeysRefused(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("u")}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:Ec2InstanceSourceVpc":"vpc-1"}}}]}`
	_, err := d.PutUserPolicy(ctx, root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("u"), PolicyName: wire.Ptr("p"), PolicyDocument: wire.Ptr(doc)})
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "MalformedPolicyDocument" || we.Message != "Condition key aws:Ec2InstanceSourceVpc is not supported." {
		t.Fatalf("PutUserPolicy with an unsupported key: %v", err)
	}
}
