package iam

import (
	"context"

	"github.com/trentkms/trent/internal/wire/iamapi"
)

// tagged is a user or role: the IAM entities that carry tags.
type tagged interface {
	User | Role
}

func tagsOf[T tagged](h *T) *[]Tag {
	switch v := any(h).(type) {
	case *User:
		return &v.Tags
	case *Role:
		return &v.Tags
	}
	panic("unreachable")
}

func tagEntity[T tagged](ctx context.Context, d *Directory, c Call, e entity, action, name string, add []iamapi.Tag) (*struct{}, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name), tagConditionKeys(add)...); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, e.kind, name, e.notFound(name), func(h *T, _ *tx) error {
		tags, err := checkTags(*tagsOf(h), add)
		*tagsOf(h) = tags
		return err
	})
	return &struct{}{}, err
}

func untagEntity[T tagged](ctx context.Context, d *Directory, c Call, e entity, action, name string, keys []string) (*struct{}, error) {
	acct := c.Identity.Account
	var extra []string
	for _, k := range keys {
		extra = append(extra, "aws:TagKeys", k)
	}
	if err := d.authorize(c, action, e.arn(d, acct, name), extra...); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, e.kind, name, e.notFound(name), func(h *T, _ *tx) error {
		*tagsOf(h) = untag(*tagsOf(h), keys)
		return nil
	})
	return &struct{}{}, err
}

func listTags[T tagged](d *Directory, c Call, e entity, action, name string, get func(string, string) *T, marker *string, maxItems *int32) ([]iamapi.Tag, *bool, *string, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name)); err != nil {
		return nil, nil, nil, err
	}
	h := get(acct, name)
	if h == nil {
		return nil, nil, nil, e.notFound(name)()
	}
	got, trunc, m, err := pageOf(*tagsOf(h), marker, maxItems)
	return apiTags(got), trunc, m, err
}

// TagUser adds or replaces tags on a user.
func (d *Directory) TagUser(ctx context.Context, c Call, in *iamapi.TagUserRequest) (*struct{}, error) {
	return tagEntity[User](ctx, d, c, userEntity, "iam:TagUser", *in.UserName, in.Tags)
}

// UntagUser removes tags from a user.
func (d *Directory) UntagUser(ctx context.Context, c Call, in *iamapi.UntagUserRequest) (*struct{}, error) {
	return untagEntity[User](ctx, d, c, userEntity, "iam:UntagUser", *in.UserName, in.TagKeys)
}

// ListUserTags lists a user's tags.
func (d *Directory) ListUserTags(ctx context.Context, c Call, in *iamapi.ListUserTagsRequest) (*iamapi.ListUserTagsResponse, error) {
	tags, trunc, m, err := listTags(d, c, userEntity, "iam:ListUserTags", *in.UserName, d.user, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListUserTagsResponse{Tags: tags, IsTruncated: trunc, Marker: m}, nil
}

// TagRole adds or replaces tags on a role.
func (d *Directory) TagRole(ctx context.Context, c Call, in *iamapi.TagRoleRequest) (*struct{}, error) {
	return tagEntity[Role](ctx, d, c, roleEntity, "iam:TagRole", *in.RoleName, in.Tags)
}

// UntagRole removes tags from a role.
func (d *Directory) UntagRole(ctx context.Context, c Call, in *iamapi.UntagRoleRequest) (*struct{}, error) {
	return untagEntity[Role](ctx, d, c, roleEntity, "iam:UntagRole", *in.RoleName, in.TagKeys)
}

// ListRoleTags lists a role's tags.
func (d *Directory) ListRoleTags(ctx context.Context, c Call, in *iamapi.ListRoleTagsRequest) (*iamapi.ListRoleTagsResponse, error) {
	tags, trunc, m, err := listTags(d, c, roleEntity, "iam:ListRoleTags", *in.RoleName, d.role, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListRoleTagsResponse{Tags: tags, IsTruncated: trunc, Marker: m}, nil
}
