package iam

import (
	"context"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// Role session limits (IAM User Guide: roles, maximum session duration).
const (
	defaultMaxSession = 3600
	minMaxSession     = 3600
	maxMaxSession     = 43200
)

func noSuchRole(name string) func() error {
	return func() error {
		return iamapi.NewNoSuchEntityException("The role with name " + name + " cannot be found.")
	}
}

func (d *Directory) role(account, name string) *Role {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.v.roles[entityIndex(account, name)]
}

func (d *Directory) roleARN(account, name string) string {
	if r := d.role(account, name); r != nil {
		return RoleARN(account, r.Path, r.Name)
	}
	return RoleARN(account, "/", name)
}

// Role returns a role by name.
func (d *Directory) Role(account, name string) (Role, bool) {
	r := d.role(account, name)
	if r == nil {
		return Role{}, false
	}
	return *r, true
}

// protectedRole refuses changes to a service-linked role: only its service
// changes it (IAM: UnmodifiableEntity).
func protectedRole(h any) error {
	if r, ok := h.(*Role); ok && r.ServiceName != "" {
		return iamapi.NewUnmodifiableEntityException("Cannot perform the operation on the protected role '" + r.Name + "' - this role is only modifiable by AWS")
	}
	return nil
}

// Service-linked roles live under this path and take names with this
// prefix; only their service creates them (CreateServiceLinkedRole).
const (
	slrPathPrefix = "/aws-service-role/"
	slrNamePrefix = "AWSServiceRoleFor"
)

// reservedRole refuses a customer role the path or the name of a
// service-linked role, which must not pass for one. The path's message is
// IAM's; names are unique without regard to case, so the prefix is too.
func reservedRole(path, name string) error {
	if strings.HasPrefix(path, slrPathPrefix) {
		return iamapi.NewInvalidInputException("Path prefix '" + slrPathPrefix + "' can only be used for AWS Service linked Roles")
	}
	if len(name) >= len(slrNamePrefix) && strings.EqualFold(name[:len(slrNamePrefix)], slrNamePrefix) {
		return iamapi.NewInvalidInputException("Role name prefix '" + slrNamePrefix + "' can only be used for AWS Service linked Roles")
	}
	return nil
}

func (d *Directory) apiRole(account string, r *Role, withTags bool) *iamapi.Role {
	out := &iamapi.Role{
		Path: wire.Ptr(r.Path), RoleName: wire.Ptr(r.Name), RoleId: wire.Ptr(r.ID), Arn: wire.Ptr(RoleARN(account, r.Path, r.Name)),
		CreateDate: wire.Ptr(wire.Timestamp(r.Created)), AssumeRolePolicyDocument: wire.Ptr(encodeDocument(d.displayTrust(r.TrustPolicy, r.TrustBindings))),
		MaxSessionDuration: wire.Ptr(r.MaxSessionDuration),
	}
	if r.Description != "" {
		out.Description = wire.Ptr(r.Description)
	}
	if r.Boundary != "" {
		out.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{PermissionsBoundaryType: wire.Ptr("Policy"), PermissionsBoundaryArn: wire.Ptr(r.Boundary)}
	}
	if withTags && len(r.Tags) > 0 {
		out.Tags = apiTags(r.Tags)
	}
	return out
}

func checkMaxSession(v *int32) (int32, error) {
	if v == nil {
		return defaultMaxSession, nil
	}
	if *v < minMaxSession || *v > maxMaxSession {
		return 0, wire.QueryValidation("The requested MaxSessionDuration is outside the allowed range of 3600 to 43200 seconds.")
	}
	return *v, nil
}

// CreateRole creates a role with a trust policy.
func (d *Directory) CreateRole(ctx context.Context, c Call, in *iamapi.CreateRoleRequest) (*iamapi.CreateRoleResponse, error) {
	acct, path, name := c.Identity.Account, normPath(in.Path), *in.RoleName
	extra := tagConditionKeys(in.Tags)
	if in.PermissionsBoundary != nil {
		extra = append(extra, "iam:PermissionsBoundary", *in.PermissionsBoundary)
	}
	if err := d.authorize(c, "iam:CreateRole", RoleARN(acct, path, name), extra...); err != nil {
		return nil, err
	}
	if err := reservedRole(path, name); err != nil {
		return nil, err
	}
	if err := checkDocument(*in.AssumeRolePolicyDocument, policy.TrustKind); err != nil {
		return nil, err
	}
	bindings, err := d.bindTrust(*in.AssumeRolePolicyDocument)
	if err != nil {
		return nil, err
	}
	maxSession, err := checkMaxSession(in.MaxSessionDuration)
	if err != nil {
		return nil, err
	}
	boundary := wire.String(in.PermissionsBoundary)
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	r, err := d.newRole(name, path, *in.AssumeRolePolicyDocument, wire.String(in.Description), maxSession)
	if err != nil {
		return nil, err
	}
	r.Tags, r.Boundary, r.TrustBindings = tags, boundary, bindings
	err = d.create(ctx, acct, roleKind, name, r, func() error {
		return iamapi.NewEntityAlreadyExistsException("Role with name " + name + " already exists.")
	}, holdingBoundary(acct, boundary))
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateRoleResponse{Role: d.apiRole(acct, r, true)}, nil
}

func (d *Directory) newRole(name, path, trust, desc string, maxSession int32) (*Role, error) {
	id, err := d.newID("AROA")
	if err != nil {
		return nil, err
	}
	return &Role{Name: name, Path: path, ID: id, Created: d.now().UTC(), TrustPolicy: trust, Description: desc, MaxSessionDuration: maxSession}, nil
}

// GetRole describes a role.
func (d *Directory) GetRole(ctx context.Context, c Call, in *iamapi.GetRoleRequest) (*iamapi.GetRoleResponse, error) {
	acct, name := c.Identity.Account, *in.RoleName
	if err := d.authorize(c, "iam:GetRole", d.roleARN(acct, name)); err != nil {
		return nil, err
	}
	r := d.role(acct, name)
	if r == nil {
		return nil, noSuchRole(name)()
	}
	out := d.apiRole(acct, r, true)
	out.RoleLastUsed = &iamapi.RoleLastUsed{}
	if u, ok := d.lastUse(ctx, roleUseKey(acct, r.Name)); ok {
		out.RoleLastUsed.LastUsedDate, out.RoleLastUsed.Region = wire.Ptr(wire.Timestamp(u.At)), wire.Ptr(u.Region)
	}
	return &iamapi.GetRoleResponse{Role: out}, nil
}

// ListRoles lists the account's roles.
func (d *Directory) ListRoles(ctx context.Context, c Call, in *iamapi.ListRolesRequest) (*iamapi.ListRolesResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:ListRoles", RoleARN(acct, "/", "")+"*"); err != nil {
		return nil, err
	}
	prefix := normPath(in.PathPrefix)
	d.mu.RLock()
	var rs []*Role
	for idx, r := range d.v.roles {
		if strings.HasPrefix(idx, acct+"/") && strings.HasPrefix(r.Path, prefix) {
			rs = append(rs, r)
		}
	}
	d.mu.RUnlock()
	sort.Slice(rs, func(i, j int) bool { return strings.ToLower(rs[i].Name) < strings.ToLower(rs[j].Name) })
	got, trunc, marker, err := pageOf(rs, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListRolesResponse{Roles: []iamapi.Role{}, IsTruncated: trunc, Marker: marker}
	for _, r := range got {
		out.Roles = append(out.Roles, *d.apiRole(acct, r, false))
	}
	return out, nil
}

// DeleteRole deletes a role without policies; service-linked roles go through
// DeleteServiceLinkedRole.
func (d *Directory) DeleteRole(ctx context.Context, c Call, in *iamapi.DeleteRoleRequest) (*struct{}, error) {
	acct, name := c.Identity.Account, *in.RoleName
	if err := d.authorize(c, "iam:DeleteRole", d.roleARN(acct, name)); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, roleKind, name, noSuchRole(name), func(r *Role, t *tx) error {
		if err := protectedRole(r); err != nil {
			return err
		}
		switch {
		case len(r.Inline) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete policies first.")
		case len(r.Attached) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must detach all policies first.")
		}
		t.del(entityKey(acct, roleKind, name))
		return nil
	})
	return &struct{}{}, err
}

// UpdateRole changes a role's description and maximum session duration.
func (d *Directory) UpdateRole(ctx context.Context, c Call, in *iamapi.UpdateRoleRequest) (*struct{}, error) {
	acct, name := c.Identity.Account, *in.RoleName
	if err := d.authorize(c, "iam:UpdateRole", d.roleARN(acct, name)); err != nil {
		return nil, err
	}
	var maxSession int32
	if in.MaxSessionDuration != nil {
		var err error
		if maxSession, err = checkMaxSession(in.MaxSessionDuration); err != nil {
			return nil, err
		}
	}
	err := update(ctx, d, acct, roleKind, name, noSuchRole(name), func(r *Role, _ *tx) error {
		if in.MaxSessionDuration != nil {
			if err := protectedRole(r); err != nil {
				return err
			}
			r.MaxSessionDuration = maxSession
		}
		if in.Description != nil {
			r.Description = *in.Description
		}
		return nil
	})
	return &struct{}{}, err
}

// UpdateRoleDescription changes a role's description; service-linked roles too.
func (d *Directory) UpdateRoleDescription(ctx context.Context, c Call, in *iamapi.UpdateRoleDescriptionRequest) (*iamapi.UpdateRoleDescriptionResponse, error) {
	acct, name := c.Identity.Account, *in.RoleName
	if err := d.authorize(c, "iam:UpdateRoleDescription", d.roleARN(acct, name)); err != nil {
		return nil, err
	}
	var out *Role
	err := update(ctx, d, acct, roleKind, name, noSuchRole(name), func(r *Role, _ *tx) error {
		r.Description = *in.Description
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateRoleDescriptionResponse{Role: d.apiRole(acct, out, true)}, nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (d *Directory) UpdateAssumeRolePolicy(ctx context.Context, c Call, in *iamapi.UpdateAssumeRolePolicyRequest) (*struct{}, error) {
	acct, name := c.Identity.Account, *in.RoleName
	if err := d.authorize(c, "iam:UpdateAssumeRolePolicy", d.roleARN(acct, name)); err != nil {
		return nil, err
	}
	if err := checkDocument(*in.PolicyDocument, policy.TrustKind); err != nil {
		return nil, err
	}
	bindings, err := d.bindTrust(*in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	err = update(ctx, d, acct, roleKind, name, noSuchRole(name), func(r *Role, _ *tx) error {
		if err := protectedRole(r); err != nil {
			return err
		}
		r.TrustPolicy, r.TrustBindings = *in.PolicyDocument, bindings
		return nil
	})
	return &struct{}{}, err
}
