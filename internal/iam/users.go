package iam

import (
	"context"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

func noSuchUser(name string) func() error {
	return func() error {
		return iamapi.NewNoSuchEntityException("The user with name " + name + " cannot be found.")
	}
}

func noSuchGroup(name string) func() error {
	return func() error {
		return iamapi.NewNoSuchEntityException("The group with name " + name + " cannot be found.")
	}
}

func (d *Directory) user(account, name string) *User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.v.users[entityIndex(account, name)]
}

func (d *Directory) group(account, name string) *Group {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.v.groups[entityIndex(account, name)]
}

func (d *Directory) apiUser(account string, u *User) *iamapi.User {
	out := &iamapi.User{
		Path: wire.Ptr(u.Path), UserName: wire.Ptr(u.Name), UserId: wire.Ptr(u.ID),
		Arn: wire.Ptr(UserARN(account, u.Path, u.Name)), CreateDate: wire.Ptr(wire.Timestamp(u.Created)),
	}
	if u.Boundary != "" {
		out.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{PermissionsBoundaryType: wire.Ptr("Policy"), PermissionsBoundaryArn: wire.Ptr(u.Boundary)}
	}
	if len(u.Tags) > 0 {
		out.Tags = apiTags(u.Tags)
	}
	return out
}

// CreateUser creates an IAM user.
func (d *Directory) CreateUser(ctx context.Context, c Call, in *iamapi.CreateUserRequest) (*iamapi.CreateUserResponse, error) {
	acct, path, name := c.Identity.Account, normPath(in.Path), *in.UserName
	extra := append([]string{}, tagConditionKeys(in.Tags)...)
	if in.PermissionsBoundary != nil {
		extra = append(extra, "iam:PermissionsBoundary", *in.PermissionsBoundary)
	}
	if err := d.authorize(c, "iam:CreateUser", UserARN(acct, path, name), extra...); err != nil {
		return nil, err
	}
	boundary := wire.String(in.PermissionsBoundary)
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	id, err := d.newID("AIDA")
	if err != nil {
		return nil, err
	}
	u := &User{Name: name, Path: path, ID: id, Created: d.now().UTC(), Tags: tags, Boundary: boundary}
	err = d.create(ctx, acct, userKind, name, u, func() error {
		return iamapi.NewEntityAlreadyExistsException("User with name " + name + " already exists.")
	}, holdingBoundary(acct, boundary))
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateUserResponse{User: d.apiUser(acct, u)}, nil
}

// GetUser describes a user; without UserName, the caller.
func (d *Directory) GetUser(ctx context.Context, c Call, in *iamapi.GetUserRequest) (*iamapi.GetUserResponse, error) {
	acct := c.Identity.Account
	name := wire.String(in.UserName)
	if name == "" {
		switch c.Identity.Type {
		case authz.RootType: // IAM describes the root user itself
			a, _ := d.Account(acct)
			return &iamapi.GetUserResponse{User: &iamapi.User{
				UserId: wire.Ptr(acct), Arn: wire.Ptr(arn.RootARN(acct)), CreateDate: wire.Ptr(wire.Timestamp(a.Created)),
			}}, nil
		case authz.UserType:
			name = c.Identity.Name
		default:
			return nil, wire.QueryValidation("Must specify userName when calling with non-User credentials")
		}
	}
	u := d.user(acct, name)
	res := UserARN(acct, "/", name)
	if u != nil {
		res = UserARN(acct, u.Path, u.Name)
	}
	if err := d.authorize(c, "iam:GetUser", res); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, noSuchUser(name)()
	}
	return &iamapi.GetUserResponse{User: d.apiUser(acct, u)}, nil
}

// ListUsers lists the account's users, by name.
func (d *Directory) ListUsers(ctx context.Context, c Call, in *iamapi.ListUsersRequest) (*iamapi.ListUsersResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:ListUsers", UserARN(acct, "/", "")+"*"); err != nil {
		return nil, err
	}
	prefix := normPath(in.PathPrefix)
	d.mu.RLock()
	var us []*User
	for idx, u := range d.v.users {
		if strings.HasPrefix(idx, acct+"/") && strings.HasPrefix(u.Path, prefix) {
			us = append(us, u)
		}
	}
	d.mu.RUnlock()
	sort.Slice(us, func(i, j int) bool { return strings.ToLower(us[i].Name) < strings.ToLower(us[j].Name) })
	got, trunc, marker, err := pageOf(us, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListUsersResponse{Users: []iamapi.User{}, IsTruncated: trunc, Marker: marker}
	for _, u := range got {
		au := d.apiUser(acct, u)
		au.Tags = nil // ListUsers does not return tags
		out.Users = append(out.Users, *au)
	}
	return out, nil
}

// DeleteUser deletes a user that has no access keys, policies or groups left.
func (d *Directory) DeleteUser(ctx context.Context, c Call, in *iamapi.DeleteUserRequest) (*struct{}, error) {
	acct, name := c.Identity.Account, *in.UserName
	u := d.user(acct, name)
	res := UserARN(acct, "/", name)
	if u != nil {
		res = UserARN(acct, u.Path, u.Name)
	}
	if err := d.authorize(c, "iam:DeleteUser", res); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, userKind, name, noSuchUser(name), func(u *User, t *tx) error {
		switch {
		case len(t.keysOf(acct, u.Name)) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete access keys first.")
		case len(u.Inline) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete policies first.")
		case len(u.Attached) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must detach all policies first.")
		case len(u.Groups) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must remove user from all groups first.")
		case t.hasMFADevice(u):
			return iamapi.NewDeleteConflictException("Cannot delete entity, must remove MFA device first.")
		}
		t.del(entityKey(acct, userKind, name))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func (d *Directory) userARN(account, name string) string {
	if u := d.user(account, name); u != nil {
		return UserARN(account, u.Path, u.Name)
	}
	return UserARN(account, "/", name)
}

func (d *Directory) groupARN(account, name string) string {
	if g := d.group(account, name); g != nil {
		return GroupARN(account, g.Path, g.Name)
	}
	return GroupARN(account, "/", name)
}

func apiGroup(account string, g *Group) iamapi.Group {
	return iamapi.Group{
		Path: wire.Ptr(g.Path), GroupName: wire.Ptr(g.Name), GroupId: wire.Ptr(g.ID),
		Arn: wire.Ptr(GroupARN(account, g.Path, g.Name)), CreateDate: wire.Ptr(wire.Timestamp(g.Created)),
	}
}

// CreateGroup creates an IAM group.
func (d *Directory) CreateGroup(ctx context.Context, c Call, in *iamapi.CreateGroupRequest) (*iamapi.CreateGroupResponse, error) {
	acct, path, name := c.Identity.Account, normPath(in.Path), *in.GroupName
	if err := d.authorize(c, "iam:CreateGroup", GroupARN(acct, path, name)); err != nil {
		return nil, err
	}
	id, err := d.newID("AGPA")
	if err != nil {
		return nil, err
	}
	g := &Group{Name: name, Path: path, ID: id, Created: d.now().UTC()}
	err = d.create(ctx, acct, groupKind, name, g, func() error {
		return iamapi.NewEntityAlreadyExistsException("Group with name " + name + " already exists.")
	})
	if err != nil {
		return nil, err
	}
	ag := apiGroup(acct, g)
	return &iamapi.CreateGroupResponse{Group: &ag}, nil
}

// membersOf returns the users in a group, by name.
func (d *Directory) membersOf(account, group string) []*User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []*User
	for idx, u := range d.v.users {
		if !strings.HasPrefix(idx, account+"/") {
			continue
		}
		for _, g := range u.Groups {
			if strings.EqualFold(g, group) {
				out = append(out, u)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// GetGroup describes a group and lists its users.
func (d *Directory) GetGroup(ctx context.Context, c Call, in *iamapi.GetGroupRequest) (*iamapi.GetGroupResponse, error) {
	acct, name := c.Identity.Account, *in.GroupName
	if err := d.authorize(c, "iam:GetGroup", d.groupARN(acct, name)); err != nil {
		return nil, err
	}
	g := d.group(acct, name)
	if g == nil {
		return nil, noSuchGroup(name)()
	}
	got, trunc, marker, err := pageOf(d.membersOf(acct, name), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	ag := apiGroup(acct, g)
	out := &iamapi.GetGroupResponse{Group: &ag, Users: []iamapi.User{}, IsTruncated: trunc, Marker: marker}
	for _, u := range got {
		au := d.apiUser(acct, u)
		au.Tags = nil
		out.Users = append(out.Users, *au)
	}
	return out, nil
}

// ListGroups lists the account's groups.
func (d *Directory) ListGroups(ctx context.Context, c Call, in *iamapi.ListGroupsRequest) (*iamapi.ListGroupsResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:ListGroups", GroupARN(acct, "/", "")+"*"); err != nil {
		return nil, err
	}
	prefix := normPath(in.PathPrefix)
	d.mu.RLock()
	var gs []*Group
	for idx, g := range d.v.groups {
		if strings.HasPrefix(idx, acct+"/") && strings.HasPrefix(g.Path, prefix) {
			gs = append(gs, g)
		}
	}
	d.mu.RUnlock()
	sort.Slice(gs, func(i, j int) bool { return strings.ToLower(gs[i].Name) < strings.ToLower(gs[j].Name) })
	got, trunc, marker, err := pageOf(gs, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListGroupsResponse{Groups: []iamapi.Group{}, IsTruncated: trunc, Marker: marker}
	for _, g := range got {
		out.Groups = append(out.Groups, apiGroup(acct, g))
	}
	return out, nil
}

// DeleteGroup deletes an empty group without policies.
func (d *Directory) DeleteGroup(ctx context.Context, c Call, in *iamapi.DeleteGroupRequest) (*struct{}, error) {
	acct, name := c.Identity.Account, *in.GroupName
	if err := d.authorize(c, "iam:DeleteGroup", d.groupARN(acct, name)); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, groupKind, name, noSuchGroup(name), func(g *Group, t *tx) error {
		switch {
		case len(t.members(acct, name)) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must remove users from group first.")
		case len(g.Inline) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete policies first.")
		case len(g.Attached) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must detach all policies first.")
		}
		t.del(entityKey(acct, groupKind, name))
		return nil
	})
	return &struct{}{}, err
}

// AddUserToGroup adds a user to a group.
func (d *Directory) AddUserToGroup(ctx context.Context, c Call, in *iamapi.AddUserToGroupRequest) (*struct{}, error) {
	return d.membership(ctx, c, "iam:AddUserToGroup", *in.UserName, *in.GroupName, true)
}

// RemoveUserFromGroup removes a user from a group.
func (d *Directory) RemoveUserFromGroup(ctx context.Context, c Call, in *iamapi.RemoveUserFromGroupRequest) (*struct{}, error) {
	return d.membership(ctx, c, "iam:RemoveUserFromGroup", *in.UserName, *in.GroupName, false)
}

func (d *Directory) membership(ctx context.Context, c Call, action, user, group string, add bool) (*struct{}, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, d.groupARN(acct, group)); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, userKind, user, noSuchUser(user), func(u *User, t *tx) error {
		// The group must still exist when the membership is written, and
		// DeleteGroup must see its new member: the group record is
		// rewritten, which makes a concurrent DeleteGroup conflict.
		g := t.group(acct, group)
		if g == nil {
			return noSuchGroup(group)()
		}
		if add {
			t.put(entityKey(acct, groupKind, group), g)
		}
		var kept []string
		for _, n := range u.Groups {
			if !strings.EqualFold(n, group) {
				kept = append(kept, n)
			}
		}
		if add {
			kept = append(kept, g.Name)
		} else if len(kept) == len(u.Groups) {
			return iamapi.NewNoSuchEntityException("User " + u.Name + " is not in group " + g.Name + ".")
		}
		u.Groups = kept
		return nil
	})
	return &struct{}{}, err
}

// ListGroupsForUser lists the groups a user belongs to.
func (d *Directory) ListGroupsForUser(ctx context.Context, c Call, in *iamapi.ListGroupsForUserRequest) (*iamapi.ListGroupsForUserResponse, error) {
	acct, name := c.Identity.Account, *in.UserName
	if err := d.authorize(c, "iam:ListGroupsForUser", d.userARN(acct, name)); err != nil {
		return nil, err
	}
	u := d.user(acct, name)
	if u == nil {
		return nil, noSuchUser(name)()
	}
	var gs []iamapi.Group
	for _, n := range u.Groups {
		if g := d.group(acct, n); g != nil {
			gs = append(gs, apiGroup(acct, g))
		}
	}
	got, trunc, marker, err := pageOf(gs, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListGroupsForUserResponse{Groups: append([]iamapi.Group{}, got...), IsTruncated: trunc, Marker: marker}, nil
}
