package iam

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

func wantErr(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	we, ok := err.(*wire.Error)
	if !ok || we.Code != code || we.Message != msg {
		t.Fatalf("%s: %v, want %s: %s", what, err, code, msg)
	}
}

const trustAnyone = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`

// Service-linked roles are made only by their service (IAM User Guide,
// using-service-linked-roles): CreateRole refuses their path with IAM's
// "Path prefix '/aws-service-role/' can only be used for AWS Service linked
// Roles" (InvalidInput, recorded in tilfin/aws-iam-policy-tool#9), and their
// names, so that no customer role can pass for the service's: a role that
// took the name would otherwise be "the" service-linked role to
// EnsureServiceLinkedRole, with a trust policy its creator chose.
func TestCreateRoleRefusesServiceLinkedPathsAndNames(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	for _, path := range []string{"/aws-service-role/", "/aws-service-role/cks.kms.amazonaws.com/"} {
		_, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("mine"), Path: wire.Ptr(path), AssumeRolePolicyDocument: wire.Ptr(trustAnyone)})
		wantErr(t, "CreateRole at "+path, err, "InvalidInput", "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles")
	}
	// Names are unique without regard to case, so every spelling is taken.
	for _, name := range []string{"AWSServiceRoleForKeyManagementServiceCustomKeyStores", "awsserviceroleforkeymanagement", "AWSServiceRoleForAnything"} {
		_, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trustAnyone)})
		wantErr(t, "CreateRole "+name, err, "InvalidInput", "Role name prefix 'AWSServiceRoleFor' can only be used for AWS Service linked Roles")
	}
	if _, ok := d.Role("111122223333", "AWSServiceRoleForKeyManagementServiceCustomKeyStores"); ok {
		t.Fatal("a customer role took a service-linked role's name")
	}
	if err := d.EnsureServiceLinkedRole(ctx, root, CustomKeyStoresService); err != nil {
		t.Fatal(err)
	}
	if r, ok := d.Role("111122223333", "AWSServiceRoleForKeyManagementServiceCustomKeyStores"); !ok || r.ServiceName != CustomKeyStoresService {
		t.Fatalf("service-linked role = %+v, %v", r, ok)
	}
}

// A role of the service-linked name that its service did not create (one
// stored before CreateRole refused the name) is not the service's role:
// creating the service-linked role fails as IAM's does for a taken name
// ("Service role name … has been taken in this account, please try a
// different suffix.", InvalidInput), rather than adopting it.
func TestCustomerRoleWithServiceLinkedNameIsNotAdopted(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	name := "AWSServiceRoleForKeyManagementServiceMultiRegionKeys"
	r, err := d.newRole(name, "/", trustAnyone, "", defaultMaxSession)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.create(ctx, "111122223333", roleKind, name, r, nil); err != nil {
		t.Fatal(err)
	}
	taken := "Service role name " + name + " has been taken in this account, please try a different suffix."
	err = d.EnsureServiceLinkedRole(ctx, root, MultiRegionKeysService)
	wantErr(t, "EnsureServiceLinkedRole over a customer role", err, "InvalidInput", taken)
	_, err = d.CreateServiceLinkedRole(ctx, root, &iamapi.CreateServiceLinkedRoleRequest{AWSServiceName: wire.Ptr(MultiRegionKeysService)})
	wantErr(t, "CreateServiceLinkedRole over a customer role", err, "InvalidInput", taken)
}

// A service-linked role is changed only by its service: IAM answers
// UnmodifiableEntity to every change of its trust, policies, boundary or
// session duration, and to DeleteRole (IAM User Guide,
// using-service-linked-roles: "An IAM administrator can view, but not edit
// the permissions for service-linked roles"); its description may be edited
// ("You can edit the description of any role").
func TestServiceLinkedRoleIsProtected(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if err := d.EnsureServiceLinkedRole(ctx, root, CustomKeyStoresService); err != nil {
		t.Fatal(err)
	}
	name := "AWSServiceRoleForKeyManagementServiceCustomKeyStores"
	protected := "Cannot perform the operation on the protected role '" + name + "' - this role is only modifiable by AWS"
	n := wire.Ptr(name)
	doc := wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	admin := wire.Ptr("arn:aws:iam::aws:policy/AdministratorAccess")
	for what, f := range map[string]func() error{
		"UpdateAssumeRolePolicy": func() error {
			_, err := d.UpdateAssumeRolePolicy(ctx, root, &iamapi.UpdateAssumeRolePolicyRequest{RoleName: n, PolicyDocument: wire.Ptr(trustAnyone)})
			return err
		},
		"DeleteRole": func() error { _, err := d.DeleteRole(ctx, root, &iamapi.DeleteRoleRequest{RoleName: n}); return err },
		"PutRolePolicy": func() error {
			_, err := d.PutRolePolicy(ctx, root, &iamapi.PutRolePolicyRequest{RoleName: n, PolicyName: wire.Ptr("x"), PolicyDocument: doc})
			return err
		},
		"DeleteRolePolicy": func() error {
			_, err := d.DeleteRolePolicy(ctx, root, &iamapi.DeleteRolePolicyRequest{RoleName: n, PolicyName: wire.Ptr("x")})
			return err
		},
		"AttachRolePolicy": func() error {
			_, err := d.AttachRolePolicy(ctx, root, &iamapi.AttachRolePolicyRequest{RoleName: n, PolicyArn: admin})
			return err
		},
		"DetachRolePolicy": func() error {
			_, err := d.DetachRolePolicy(ctx, root, &iamapi.DetachRolePolicyRequest{RoleName: n, PolicyArn: wire.Ptr(serviceLinkedRoles[CustomKeyStoresService].policy)})
			return err
		},
		"PutRolePermissionsBoundary": func() error {
			_, err := d.PutRolePermissionsBoundary(ctx, root, &iamapi.PutRolePermissionsBoundaryRequest{RoleName: n, PermissionsBoundary: admin})
			return err
		},
		"UpdateRole MaxSessionDuration": func() error {
			_, err := d.UpdateRole(ctx, root, &iamapi.UpdateRoleRequest{RoleName: n, MaxSessionDuration: wire.Ptr(int32(7200))})
			return err
		},
	} {
		wantErr(t, what+" on a service-linked role", f(), "UnmodifiableEntity", protected)
	}
	r, _ := d.Role("111122223333", name)
	if len(r.Attached) != 1 || len(r.Inline) != 0 || r.Boundary != "" || r.MaxSessionDuration != defaultMaxSession {
		t.Fatalf("the service-linked role changed: %+v", r)
	}
	if _, err := d.UpdateRoleDescription(ctx, root, &iamapi.UpdateRoleDescriptionRequest{RoleName: n, Description: wire.Ptr("ours")}); err != nil {
		t.Fatalf("UpdateRoleDescription on a service-linked role: %v", err)
	}
}

// The AWS managed policies of service-linked roles (under
// arn:aws:iam::aws:policy/aws-service-role/) are for those roles only: IAM
// answers AttachRolePolicy of one to a customer role with PolicyNotAttachable
// "Cannot attach a Service Role Policy to a Customer Role." (aws/aws-cdk#6131).
// Users and groups are refused the same way (the wording for them is
// Trent's, after the role's). AWS managed policies cannot be changed by
// customers at all.
func TestServiceRolePoliciesAttachOnlyToServiceLinkedRoles(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("mine"), AssumeRolePolicyDocument: wire.Ptr(trustAnyone)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateGroup(ctx, root, &iamapi.CreateGroupRequest{GroupName: wire.Ptr("g")}); err != nil {
		t.Fatal(err)
	}
	srp := wire.Ptr(serviceLinkedRoles[MultiRegionKeysService].policy)
	_, err := d.AttachRolePolicy(ctx, root, &iamapi.AttachRolePolicyRequest{RoleName: wire.Ptr("mine"), PolicyArn: srp})
	wantErr(t, "AttachRolePolicy of a service role policy", err, "PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Role.")
	_, err = d.AttachUserPolicy(ctx, root, &iamapi.AttachUserPolicyRequest{UserName: wire.Ptr("bob"), PolicyArn: srp})
	wantErr(t, "AttachUserPolicy of a service role policy", err, "PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer User.")
	_, err = d.AttachGroupPolicy(ctx, root, &iamapi.AttachGroupPolicyRequest{GroupName: wire.Ptr("g"), PolicyArn: srp})
	wantErr(t, "AttachGroupPolicy of a service role policy", err, "PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Group.")

	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	for what, f := range map[string]func() error{
		"CreatePolicyVersion": func() error {
			_, err := d.CreatePolicyVersion(ctx, root, &iamapi.CreatePolicyVersionRequest{PolicyArn: wire.Ptr(admin), PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`), SetAsDefault: wire.Ptr(true)})
			return err
		},
		"SetDefaultPolicyVersion": func() error {
			_, err := d.SetDefaultPolicyVersion(ctx, root, &iamapi.SetDefaultPolicyVersionRequest{PolicyArn: wire.Ptr(admin), VersionId: wire.Ptr("v1")})
			return err
		},
		"DeletePolicyVersion": func() error {
			_, err := d.DeletePolicyVersion(ctx, root, &iamapi.DeletePolicyVersionRequest{PolicyArn: wire.Ptr(admin), VersionId: wire.Ptr("v1")})
			return err
		},
		"DeletePolicy": func() error {
			_, err := d.DeletePolicy(ctx, root, &iamapi.DeletePolicyRequest{PolicyArn: wire.Ptr(admin)})
			return err
		},
	} {
		if we, ok := f().(*wire.Error); !ok || we.Code != "InvalidInput" {
			t.Fatalf("%s on an AWS managed policy: %v", what, we)
		}
	}
}
