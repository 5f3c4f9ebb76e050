package iam

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// serviceRolePolicyPrefix starts the ARNs of the AWS managed policies of
// service-linked roles.
const serviceRolePolicyPrefix = "arn:aws:iam::aws:policy" + slrPathPrefix

// Quotas from the IAM User Guide (IAM and AWS STS quotas).
const (
	maxAttached       = 10
	maxPolicyVersions = 5
)

// holder is a user, group or role: something policies attach to.
type holder interface {
	User | Group | Role
}

func holderPolicies[T holder](h *T) (*map[string]string, *[]string) {
	switch v := any(h).(type) {
	case *User:
		return &v.Inline, &v.Attached
	case *Group:
		return &v.Inline, &v.Attached
	case *Role:
		return &v.Inline, &v.Attached
	}
	panic("unreachable")
}

// entity describes one kind of policy holder for the messages and ARNs of the
// operations shared by users, groups and roles.
type entity struct {
	kind     entityKind
	noun     string // "user", "group", "role"
	notFound func(string) func() error
	arn      func(d *Directory, account, name string) string
}

var (
	userEntity  = entity{userKind, "user", noSuchUser, (*Directory).userARN}
	groupEntity = entity{groupKind, "group", noSuchGroup, (*Directory).groupARN}
	roleEntity  = entity{roleKind, "role", noSuchRole, (*Directory).roleARN}
)

func putInline[T holder](ctx context.Context, d *Directory, c Call, e entity, action, name, policyName, doc string) (*struct{}, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name)); err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.IdentityKind); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, e.kind, name, e.notFound(name), func(h *T, _ *tx) error {
		if err := protectedRole(any(h)); err != nil {
			return err
		}
		inline, _ := holderPolicies(h)
		if *inline == nil {
			*inline = map[string]string{}
		}
		for k := range *inline {
			if strings.EqualFold(k, policyName) {
				delete(*inline, k)
			}
		}
		(*inline)[policyName] = doc
		return nil
	})
	return &struct{}{}, err
}

func getInline[T holder](d *Directory, c Call, e entity, action, name, policyName string, get func(account, name string) *T) (string, string, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name)); err != nil {
		return "", "", err
	}
	h := get(acct, name)
	if h == nil {
		return "", "", e.notFound(name)()
	}
	inline, _ := holderPolicies(h)
	for k, doc := range *inline {
		if strings.EqualFold(k, policyName) {
			return k, doc, nil
		}
	}
	return "", "", iamapi.NewNoSuchEntityException("The " + e.noun + " policy with name " + policyName + " cannot be found.")
}

func deleteInline[T holder](ctx context.Context, d *Directory, c Call, e entity, action, name, policyName string) (*struct{}, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name)); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, e.kind, name, e.notFound(name), func(h *T, _ *tx) error {
		if err := protectedRole(any(h)); err != nil {
			return err
		}
		inline, _ := holderPolicies(h)
		for k := range *inline {
			if strings.EqualFold(k, policyName) {
				delete(*inline, k)
				return nil
			}
		}
		return iamapi.NewNoSuchEntityException("The " + e.noun + " policy with name " + policyName + " cannot be found.")
	})
	return &struct{}{}, err
}

func listInline[T holder](d *Directory, c Call, e entity, action, name string, get func(account, name string) *T, marker *string, maxItems *int32) ([]string, *bool, *string, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name)); err != nil {
		return nil, nil, nil, err
	}
	h := get(acct, name)
	if h == nil {
		return nil, nil, nil, e.notFound(name)()
	}
	inline, _ := holderPolicies(h)
	names := make([]string, 0, len(*inline))
	for k := range *inline {
		names = append(names, k)
	}
	sort.Strings(names)
	return pageOf(names, marker, maxItems)
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (d *Directory) PutUserPolicy(ctx context.Context, c Call, in *iamapi.PutUserPolicyRequest) (*struct{}, error) {
	return putInline[User](ctx, d, c, userEntity, "iam:PutUserPolicy", *in.UserName, *in.PolicyName, *in.PolicyDocument)
}

// PutGroupPolicy adds or replaces an inline policy of a group.
func (d *Directory) PutGroupPolicy(ctx context.Context, c Call, in *iamapi.PutGroupPolicyRequest) (*struct{}, error) {
	return putInline[Group](ctx, d, c, groupEntity, "iam:PutGroupPolicy", *in.GroupName, *in.PolicyName, *in.PolicyDocument)
}

// PutRolePolicy adds or replaces an inline policy of a role.
func (d *Directory) PutRolePolicy(ctx context.Context, c Call, in *iamapi.PutRolePolicyRequest) (*struct{}, error) {
	return putInline[Role](ctx, d, c, roleEntity, "iam:PutRolePolicy", *in.RoleName, *in.PolicyName, *in.PolicyDocument)
}

// GetUserPolicy returns an inline policy of a user (URL-encoded, as IAM does).
func (d *Directory) GetUserPolicy(ctx context.Context, c Call, in *iamapi.GetUserPolicyRequest) (*iamapi.GetUserPolicyResponse, error) {
	name, doc, err := getInline(d, c, userEntity, "iam:GetUserPolicy", *in.UserName, *in.PolicyName, d.user)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserPolicyResponse{UserName: wire.Ptr(d.user(c.Identity.Account, *in.UserName).Name), PolicyName: wire.Ptr(name), PolicyDocument: wire.Ptr(encodeDocument(doc))}, nil
}

// GetGroupPolicy returns an inline policy of a group.
func (d *Directory) GetGroupPolicy(ctx context.Context, c Call, in *iamapi.GetGroupPolicyRequest) (*iamapi.GetGroupPolicyResponse, error) {
	name, doc, err := getInline(d, c, groupEntity, "iam:GetGroupPolicy", *in.GroupName, *in.PolicyName, d.group)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetGroupPolicyResponse{GroupName: wire.Ptr(d.group(c.Identity.Account, *in.GroupName).Name), PolicyName: wire.Ptr(name), PolicyDocument: wire.Ptr(encodeDocument(doc))}, nil
}

// GetRolePolicy returns an inline policy of a role.
func (d *Directory) GetRolePolicy(ctx context.Context, c Call, in *iamapi.GetRolePolicyRequest) (*iamapi.GetRolePolicyResponse, error) {
	name, doc, err := getInline(d, c, roleEntity, "iam:GetRolePolicy", *in.RoleName, *in.PolicyName, d.role)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetRolePolicyResponse{RoleName: wire.Ptr(d.role(c.Identity.Account, *in.RoleName).Name), PolicyName: wire.Ptr(name), PolicyDocument: wire.Ptr(encodeDocument(doc))}, nil
}

// DeleteUserPolicy deletes an inline policy of a user.
func (d *Directory) DeleteUserPolicy(ctx context.Context, c Call, in *iamapi.DeleteUserPolicyRequest) (*struct{}, error) {
	return deleteInline[User](ctx, d, c, userEntity, "iam:DeleteUserPolicy", *in.UserName, *in.PolicyName)
}

// DeleteGroupPolicy deletes an inline policy of a group.
func (d *Directory) DeleteGroupPolicy(ctx context.Context, c Call, in *iamapi.DeleteGroupPolicyRequest) (*struct{}, error) {
	return deleteInline[Group](ctx, d, c, groupEntity, "iam:DeleteGroupPolicy", *in.GroupName, *in.PolicyName)
}

// DeleteRolePolicy deletes an inline policy of a role.
func (d *Directory) DeleteRolePolicy(ctx context.Context, c Call, in *iamapi.DeleteRolePolicyRequest) (*struct{}, error) {
	return deleteInline[Role](ctx, d, c, roleEntity, "iam:DeleteRolePolicy", *in.RoleName, *in.PolicyName)
}

// ListUserPolicies lists the names of a user's inline policies.
func (d *Directory) ListUserPolicies(ctx context.Context, c Call, in *iamapi.ListUserPoliciesRequest) (*iamapi.ListUserPoliciesResponse, error) {
	names, trunc, marker, err := listInline(d, c, userEntity, "iam:ListUserPolicies", *in.UserName, d.user, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListUserPoliciesResponse{PolicyNames: append([]string{}, names...), IsTruncated: trunc, Marker: marker}, nil
}

// ListGroupPolicies lists the names of a group's inline policies.
func (d *Directory) ListGroupPolicies(ctx context.Context, c Call, in *iamapi.ListGroupPoliciesRequest) (*iamapi.ListGroupPoliciesResponse, error) {
	names, trunc, marker, err := listInline(d, c, groupEntity, "iam:ListGroupPolicies", *in.GroupName, d.group, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListGroupPoliciesResponse{PolicyNames: append([]string{}, names...), IsTruncated: trunc, Marker: marker}, nil
}

// ListRolePolicies lists the names of a role's inline policies.
func (d *Directory) ListRolePolicies(ctx context.Context, c Call, in *iamapi.ListRolePoliciesRequest) (*iamapi.ListRolePoliciesResponse, error) {
	names, trunc, marker, err := listInline(d, c, roleEntity, "iam:ListRolePolicies", *in.RoleName, d.role, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListRolePoliciesResponse{PolicyNames: append([]string{}, names...), IsTruncated: trunc, Marker: marker}, nil
}

// Managed policies.

func noSuchPolicy(policyARN string) error {
	return iamapi.NewNoSuchEntityException("Policy " + policyARN + " does not exist or is not attachable.")
}

// customerPolicyName is the name of the customer managed policy of account
// that an ARN names, if it names one.
func customerPolicyName(account, policyARN string) (string, bool) {
	a, err := arn.Parse(policyARN)
	if err != nil || a.Service != "iam" || a.Account != account || !strings.HasPrefix(a.Resource, "policy/") {
		return "", false
	}
	return a.Resource[strings.LastIndexByte(a.Resource, '/')+1:], true
}

// customerPolicy finds a customer managed policy of account by ARN.
func (d *Directory) customerPolicy(account, policyARN string) *ManagedPolicy {
	name, ok := customerPolicyName(account, policyARN)
	if !ok {
		return nil
	}
	d.mu.RLock()
	mp := d.v.policies[entityIndex(account, name)]
	d.mu.RUnlock()
	if mp == nil || PolicyARN(account, mp.Path, mp.Name) != policyARN {
		return nil
	}
	return mp
}

func (d *Directory) policyExists(account, policyARN string) bool {
	return awsManaged(policyARN) != nil || d.customerPolicy(account, policyARN) != nil
}

// attachmentCounts counts how many users, groups and roles of account attach
// a policy, and how many use it as their boundary.
func (d *Directory) attachmentCounts(account, policyARN string) (attached, boundary int32) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.v.holders(account, policyARN)
}

func (d *Directory) apiPolicy(account string, mp *ManagedPolicy) *iamapi.Policy {
	a := PolicyARN(account, mp.Path, mp.Name)
	att, b := d.attachmentCounts(account, a)
	out := &iamapi.Policy{
		PolicyName: wire.Ptr(mp.Name), PolicyId: wire.Ptr(mp.ID), Arn: wire.Ptr(a), Path: wire.Ptr(mp.Path),
		DefaultVersionId: wire.Ptr(mp.DefaultVersion), AttachmentCount: wire.Ptr(att), PermissionsBoundaryUsageCount: wire.Ptr(b),
		IsAttachable: wire.Ptr(true), CreateDate: wire.Ptr(wire.Timestamp(mp.Created)), UpdateDate: wire.Ptr(wire.Timestamp(mp.Updated)),
	}
	if mp.Description != "" {
		out.Description = wire.Ptr(mp.Description)
	}
	if len(mp.Tags) > 0 {
		out.Tags = apiTags(mp.Tags)
	}
	return out
}

func (d *Directory) apiAWSPolicy(account string, p *AWSManagedPolicy) *iamapi.Policy {
	att, b := d.attachmentCounts(account, p.ARN())
	v := p.Versions[len(p.Versions)-1]
	return &iamapi.Policy{
		PolicyName: wire.Ptr(p.Name), PolicyId: wire.Ptr(awsPolicyID(p)), Arn: wire.Ptr(p.ARN()), Path: wire.Ptr(p.Path),
		DefaultVersionId: wire.Ptr(v.ID), AttachmentCount: wire.Ptr(att), PermissionsBoundaryUsageCount: wire.Ptr(b),
		IsAttachable: wire.Ptr(true), Description: wire.Ptr(p.Description),
		CreateDate: wire.Ptr(wire.Timestamp(p.Versions[0].Created)), UpdateDate: wire.Ptr(wire.Timestamp(v.Created)),
	}
}

// awsPolicyID is a stable ANPA… id for an AWS managed policy.
func awsPolicyID(p *AWSManagedPolicy) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(p.Name); i++ {
		h = (h ^ uint64(p.Name[i])) * 1099511628211
	}
	b := make([]byte, 16)
	for i := range b {
		b[i] = idAlphabet[h%32]
		h = h/32 ^ h*2654435761
	}
	return "ANPA" + string(b)
}

// CreatePolicy creates a customer managed policy (version v1, the default).
func (d *Directory) CreatePolicy(ctx context.Context, c Call, in *iamapi.CreatePolicyRequest) (*iamapi.CreatePolicyResponse, error) {
	acct, path, name := c.Identity.Account, normPath(in.Path), *in.PolicyName
	if err := d.authorize(c, "iam:CreatePolicy", PolicyARN(acct, path, name), tagConditionKeys(in.Tags)...); err != nil {
		return nil, err
	}
	if err := checkDocument(*in.PolicyDocument, policy.IdentityKind); err != nil {
		return nil, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	id, err := d.newID("ANPA")
	if err != nil {
		return nil, err
	}
	now := d.now().UTC()
	mp := &ManagedPolicy{
		Name: name, Path: path, ID: id, Description: wire.String(in.Description), Created: now, Updated: now,
		DefaultVersion: "v1", Versions: []PolicyVersion{{ID: "v1", Document: *in.PolicyDocument, Created: now}}, Tags: tags, NextVersion: 2,
	}
	err = d.create(ctx, acct, policyKind, name, mp, func() error {
		return iamapi.NewEntityAlreadyExistsException("A policy called " + name + " already exists. Duplicate names are not allowed.")
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreatePolicyResponse{Policy: d.apiPolicy(acct, mp)}, nil
}

// GetPolicy describes a managed policy (customer or AWS managed).
func (d *Directory) GetPolicy(ctx context.Context, c Call, in *iamapi.GetPolicyRequest) (*iamapi.GetPolicyResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:GetPolicy", *in.PolicyArn); err != nil {
		return nil, err
	}
	if p := awsManaged(*in.PolicyArn); p != nil {
		return &iamapi.GetPolicyResponse{Policy: d.apiAWSPolicy(acct, p)}, nil
	}
	mp := d.customerPolicy(acct, *in.PolicyArn)
	if mp == nil {
		return nil, iamapi.NewNoSuchEntityException("Policy " + *in.PolicyArn + " was not found.")
	}
	return &iamapi.GetPolicyResponse{Policy: d.apiPolicy(acct, mp)}, nil
}

// ListPolicies lists managed policies: Scope All (default), AWS or Local.
func (d *Directory) ListPolicies(ctx context.Context, c Call, in *iamapi.ListPoliciesRequest) (*iamapi.ListPoliciesResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:ListPolicies", PolicyARN(acct, "/", "")+"*"); err != nil {
		return nil, err
	}
	scope, prefix := wire.String(in.Scope), normPath(in.PathPrefix)
	var ps []iamapi.Policy
	if scope != "Local" {
		for _, p := range awsManagedPolicies {
			if strings.HasPrefix(p.Path, prefix) {
				ps = append(ps, *d.apiAWSPolicy(acct, p))
			}
		}
	}
	if scope != "AWS" {
		d.mu.RLock()
		var mine []*ManagedPolicy
		for idx, mp := range d.v.policies {
			if strings.HasPrefix(idx, acct+"/") && strings.HasPrefix(mp.Path, prefix) {
				mine = append(mine, mp)
			}
		}
		d.mu.RUnlock()
		for _, mp := range mine {
			ap := d.apiPolicy(acct, mp)
			ap.Tags = nil
			ps = append(ps, *ap)
		}
	}
	var kept []iamapi.Policy
	for _, p := range ps {
		if wire.Bool(in.OnlyAttached) && *p.AttachmentCount == 0 {
			continue
		}
		switch wire.String(in.PolicyUsageFilter) {
		case "PermissionsPolicy":
			if *p.AttachmentCount == 0 {
				continue
			}
		case "PermissionsBoundary":
			if *p.PermissionsBoundaryUsageCount == 0 {
				continue
			}
		}
		kept = append(kept, p)
	}
	sort.Slice(kept, func(i, j int) bool { return *kept[i].Arn < *kept[j].Arn })
	got, trunc, marker, err := pageOf(kept, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListPoliciesResponse{Policies: append([]iamapi.Policy{}, got...), IsTruncated: trunc, Marker: marker}, nil
}

func (d *Directory) updatePolicy(ctx context.Context, c Call, action, policyARN string, fn func(*ManagedPolicy, *tx) error) error {
	acct := c.Identity.Account
	if err := d.authorize(c, action, policyARN); err != nil {
		return err
	}
	if awsManaged(policyARN) != nil {
		return iamapi.NewInvalidInputException("ARN " + policyARN + " is not valid: AWS managed policies cannot be changed.")
	}
	notFound := func() error { return iamapi.NewNoSuchEntityException("Policy " + policyARN + " was not found.") }
	name, ok := customerPolicyName(acct, policyARN)
	if !ok {
		return notFound()
	}
	return update(ctx, d, acct, policyKind, name, notFound, func(mp *ManagedPolicy, t *tx) error {
		if PolicyARN(acct, mp.Path, mp.Name) != policyARN { // another path
			return notFound()
		}
		return fn(mp, t)
	})
}

// DeletePolicy deletes a customer managed policy that nothing attaches and
// that has only its default version left.
func (d *Directory) DeletePolicy(ctx context.Context, c Call, in *iamapi.DeletePolicyRequest) (*struct{}, error) {
	a := *in.PolicyArn
	err := d.updatePolicy(ctx, c, "iam:DeletePolicy", a, func(mp *ManagedPolicy, t *tx) error {
		if att, b := t.holders(c.Identity.Account, a); att > 0 || b > 0 {
			return iamapi.NewDeleteConflictException("Cannot delete a policy attached to entities.")
		}
		if len(mp.Versions) > 1 {
			return iamapi.NewDeleteConflictException("This policy has more than one version. Before you delete a policy, you must delete the policy's non-default versions.")
		}
		t.del(entityKey(c.Identity.Account, policyKind, mp.Name))
		return nil
	})
	return &struct{}{}, err
}

func apiVersion(v PolicyVersion, def string, withDoc bool) iamapi.PolicyVersion {
	out := iamapi.PolicyVersion{VersionId: wire.Ptr(v.ID), IsDefaultVersion: wire.Ptr(v.ID == def), CreateDate: wire.Ptr(wire.Timestamp(v.Created))}
	if withDoc {
		out.Document = wire.Ptr(encodeDocument(v.Document))
	}
	return out
}

// CreatePolicyVersion adds a version (at most five are kept).
func (d *Directory) CreatePolicyVersion(ctx context.Context, c Call, in *iamapi.CreatePolicyVersionRequest) (*iamapi.CreatePolicyVersionResponse, error) {
	if err := checkDocument(*in.PolicyDocument, policy.IdentityKind); err != nil {
		return nil, err
	}
	var made PolicyVersion
	var def string
	err := d.updatePolicy(ctx, c, "iam:CreatePolicyVersion", *in.PolicyArn, func(mp *ManagedPolicy, _ *tx) error {
		if len(mp.Versions) >= maxPolicyVersions {
			return iamapi.NewLimitExceededException("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
		}
		made = PolicyVersion{ID: "v" + strconv.Itoa(mp.NextVersion), Document: *in.PolicyDocument, Created: d.now().UTC()}
		mp.NextVersion++
		mp.Versions = append(mp.Versions, made)
		if wire.Bool(in.SetAsDefault) {
			mp.DefaultVersion = made.ID
		}
		mp.Updated, def = made.Created, mp.DefaultVersion
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := apiVersion(made, def, false)
	return &iamapi.CreatePolicyVersionResponse{PolicyVersion: &v}, nil
}

func (d *Directory) versionsOf(account, policyARN string) ([]PolicyVersion, string, error) {
	if p := awsManaged(policyARN); p != nil {
		return p.Versions, p.Versions[len(p.Versions)-1].ID, nil
	}
	mp := d.customerPolicy(account, policyARN)
	if mp == nil {
		return nil, "", iamapi.NewNoSuchEntityException("Policy " + policyARN + " was not found.")
	}
	return mp.Versions, mp.DefaultVersion, nil
}

// GetPolicyVersion returns one version with its document (URL-encoded).
func (d *Directory) GetPolicyVersion(ctx context.Context, c Call, in *iamapi.GetPolicyVersionRequest) (*iamapi.GetPolicyVersionResponse, error) {
	if err := d.authorize(c, "iam:GetPolicyVersion", *in.PolicyArn); err != nil {
		return nil, err
	}
	vs, def, err := d.versionsOf(c.Identity.Account, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.ID == *in.VersionId {
			av := apiVersion(v, def, true)
			return &iamapi.GetPolicyVersionResponse{PolicyVersion: &av}, nil
		}
	}
	return nil, iamapi.NewNoSuchEntityException("Policy " + *in.PolicyArn + " version " + *in.VersionId + " does not exist or is not attachable.")
}

// ListPolicyVersions lists a policy's versions, newest first.
func (d *Directory) ListPolicyVersions(ctx context.Context, c Call, in *iamapi.ListPolicyVersionsRequest) (*iamapi.ListPolicyVersionsResponse, error) {
	if err := d.authorize(c, "iam:ListPolicyVersions", *in.PolicyArn); err != nil {
		return nil, err
	}
	vs, def, err := d.versionsOf(c.Identity.Account, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	var out []iamapi.PolicyVersion
	for i := len(vs) - 1; i >= 0; i-- {
		out = append(out, apiVersion(vs[i], def, false))
	}
	got, trunc, marker, err := pageOf(out, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListPolicyVersionsResponse{Versions: append([]iamapi.PolicyVersion{}, got...), IsTruncated: trunc, Marker: marker}, nil
}

// DeletePolicyVersion deletes a version that is not the default.
func (d *Directory) DeletePolicyVersion(ctx context.Context, c Call, in *iamapi.DeletePolicyVersionRequest) (*struct{}, error) {
	err := d.updatePolicy(ctx, c, "iam:DeletePolicyVersion", *in.PolicyArn, func(mp *ManagedPolicy, _ *tx) error {
		if mp.DefaultVersion == *in.VersionId {
			return iamapi.NewDeleteConflictException("Cannot delete the default version of a policy.")
		}
		for i, v := range mp.Versions {
			if v.ID == *in.VersionId {
				mp.Versions = append(mp.Versions[:i], mp.Versions[i+1:]...)
				return nil
			}
		}
		return iamapi.NewNoSuchEntityException("Policy " + *in.PolicyArn + " version " + *in.VersionId + " does not exist or is not attachable.")
	})
	return &struct{}{}, err
}

// SetDefaultPolicyVersion makes a version the one that takes effect.
func (d *Directory) SetDefaultPolicyVersion(ctx context.Context, c Call, in *iamapi.SetDefaultPolicyVersionRequest) (*struct{}, error) {
	err := d.updatePolicy(ctx, c, "iam:SetDefaultPolicyVersion", *in.PolicyArn, func(mp *ManagedPolicy, _ *tx) error {
		for _, v := range mp.Versions {
			if v.ID == *in.VersionId {
				mp.DefaultVersion, mp.Updated = v.ID, d.now().UTC()
				return nil
			}
		}
		return iamapi.NewNoSuchEntityException("Policy " + *in.PolicyArn + " version " + *in.VersionId + " does not exist or is not attachable.")
	})
	return &struct{}{}, err
}

// Attachments.

func attach[T holder](ctx context.Context, d *Directory, c Call, e entity, action, name, policyARN string, add bool) (*struct{}, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name), "iam:PolicyARN", policyARN); err != nil {
		return nil, err
	}
	err := update(ctx, d, acct, e.kind, name, e.notFound(name), func(h *T, t *tx) error {
		if err := protectedRole(any(h)); err != nil {
			return err
		}
		if add && strings.HasPrefix(policyARN, serviceRolePolicyPrefix) {
			// Only their service-linked roles, which customers cannot
			// change, hold these; IAM's text for roles, after it for users
			// and groups.
			return iamapi.NewPolicyNotAttachableException("Cannot attach a Service Role Policy to a Customer " + strings.ToUpper(e.noun[:1]) + e.noun[1:] + ".")
		}
		_, attached := holderPolicies(h)
		for i, a := range *attached {
			if a == policyARN {
				if !add {
					*attached = append((*attached)[:i], (*attached)[i+1:]...)
				}
				return nil
			}
		}
		if !add {
			return iamapi.NewNoSuchEntityException("Policy " + policyARN + " was not found.")
		}
		if len(*attached) >= maxAttached {
			return iamapi.NewLimitExceededException("Cannot exceed quota for PoliciesPer" + strings.ToUpper(e.noun[:1]) + e.noun[1:] + ": 10")
		}
		// The policy must still exist when it is attached, and DeletePolicy
		// must see the attachment.
		if !t.holdPolicy(acct, policyARN) {
			return noSuchPolicy(policyARN)
		}
		*attached = append(*attached, policyARN)
		return nil
	})
	return &struct{}{}, err
}

// AttachUserPolicy attaches a managed policy to a user.
func (d *Directory) AttachUserPolicy(ctx context.Context, c Call, in *iamapi.AttachUserPolicyRequest) (*struct{}, error) {
	return attach[User](ctx, d, c, userEntity, "iam:AttachUserPolicy", *in.UserName, *in.PolicyArn, true)
}

// AttachGroupPolicy attaches a managed policy to a group.
func (d *Directory) AttachGroupPolicy(ctx context.Context, c Call, in *iamapi.AttachGroupPolicyRequest) (*struct{}, error) {
	return attach[Group](ctx, d, c, groupEntity, "iam:AttachGroupPolicy", *in.GroupName, *in.PolicyArn, true)
}

// AttachRolePolicy attaches a managed policy to a role.
func (d *Directory) AttachRolePolicy(ctx context.Context, c Call, in *iamapi.AttachRolePolicyRequest) (*struct{}, error) {
	return attach[Role](ctx, d, c, roleEntity, "iam:AttachRolePolicy", *in.RoleName, *in.PolicyArn, true)
}

// DetachUserPolicy detaches a managed policy from a user.
func (d *Directory) DetachUserPolicy(ctx context.Context, c Call, in *iamapi.DetachUserPolicyRequest) (*struct{}, error) {
	return attach[User](ctx, d, c, userEntity, "iam:DetachUserPolicy", *in.UserName, *in.PolicyArn, false)
}

// DetachGroupPolicy detaches a managed policy from a group.
func (d *Directory) DetachGroupPolicy(ctx context.Context, c Call, in *iamapi.DetachGroupPolicyRequest) (*struct{}, error) {
	return attach[Group](ctx, d, c, groupEntity, "iam:DetachGroupPolicy", *in.GroupName, *in.PolicyArn, false)
}

// DetachRolePolicy detaches a managed policy from a role.
func (d *Directory) DetachRolePolicy(ctx context.Context, c Call, in *iamapi.DetachRolePolicyRequest) (*struct{}, error) {
	return attach[Role](ctx, d, c, roleEntity, "iam:DetachRolePolicy", *in.RoleName, *in.PolicyArn, false)
}

func listAttached[T holder](d *Directory, c Call, e entity, action, name string, get func(string, string) *T, prefix, marker *string, maxItems *int32) ([]iamapi.AttachedPolicy, *bool, *string, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, action, e.arn(d, acct, name)); err != nil {
		return nil, nil, nil, err
	}
	h := get(acct, name)
	if h == nil {
		return nil, nil, nil, e.notFound(name)()
	}
	_, attached := holderPolicies(h)
	var out []iamapi.AttachedPolicy
	for _, a := range *attached {
		pa, _ := arn.Parse(a)
		if prefix != nil && !strings.HasPrefix(strings.TrimPrefix(pa.Resource, "policy"), *prefix) {
			continue
		}
		out = append(out, iamapi.AttachedPolicy{PolicyName: wire.Ptr(a[strings.LastIndexByte(a, '/')+1:]), PolicyArn: wire.Ptr(a)})
	}
	got, trunc, m, err := pageOf(out, marker, maxItems)
	return append([]iamapi.AttachedPolicy{}, got...), trunc, m, err
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (d *Directory) ListAttachedUserPolicies(ctx context.Context, c Call, in *iamapi.ListAttachedUserPoliciesRequest) (*iamapi.ListAttachedUserPoliciesResponse, error) {
	ps, trunc, m, err := listAttached(d, c, userEntity, "iam:ListAttachedUserPolicies", *in.UserName, d.user, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedUserPoliciesResponse{AttachedPolicies: ps, IsTruncated: trunc, Marker: m}, nil
}

// ListAttachedGroupPolicies lists the managed policies attached to a group.
func (d *Directory) ListAttachedGroupPolicies(ctx context.Context, c Call, in *iamapi.ListAttachedGroupPoliciesRequest) (*iamapi.ListAttachedGroupPoliciesResponse, error) {
	ps, trunc, m, err := listAttached(d, c, groupEntity, "iam:ListAttachedGroupPolicies", *in.GroupName, d.group, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedGroupPoliciesResponse{AttachedPolicies: ps, IsTruncated: trunc, Marker: m}, nil
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (d *Directory) ListAttachedRolePolicies(ctx context.Context, c Call, in *iamapi.ListAttachedRolePoliciesRequest) (*iamapi.ListAttachedRolePoliciesResponse, error) {
	ps, trunc, m, err := listAttached(d, c, roleEntity, "iam:ListAttachedRolePolicies", *in.RoleName, d.role, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedRolePoliciesResponse{AttachedPolicies: ps, IsTruncated: trunc, Marker: m}, nil
}

// Permissions boundaries.

func (d *Directory) setBoundary(ctx context.Context, c Call, e entity, action, name string, policyARN *string) (*struct{}, error) {
	acct := c.Identity.Account
	var extra []string
	if policyARN != nil {
		extra = []string{"iam:PermissionsBoundary", *policyARN}
	}
	if err := d.authorize(c, action, e.arn(d, acct, name), extra...); err != nil {
		return nil, err
	}
	b := wire.String(policyARN)
	var err error
	set := func(cur *string, t *tx) error {
		if policyARN == nil && *cur == "" {
			return iamapi.NewNoSuchEntityException("The " + e.noun + " with name " + name + " does not have a permissions boundary.")
		}
		// The boundary must still exist when it is set, and DeletePolicy
		// must see it used.
		if b != "" {
			if err := t.holdBoundary(acct, b); err != nil {
				return err
			}
		}
		*cur = b
		return nil
	}
	if e.kind == userKind {
		err = update(ctx, d, acct, userKind, name, noSuchUser(name), func(u *User, t *tx) error { return set(&u.Boundary, t) })
	} else {
		err = update(ctx, d, acct, roleKind, name, noSuchRole(name), func(r *Role, t *tx) error {
			if err := protectedRole(r); err != nil {
				return err
			}
			return set(&r.Boundary, t)
		})
	}
	return &struct{}{}, err
}

// PutUserPermissionsBoundary sets a user's permissions boundary.
func (d *Directory) PutUserPermissionsBoundary(ctx context.Context, c Call, in *iamapi.PutUserPermissionsBoundaryRequest) (*struct{}, error) {
	return d.setBoundary(ctx, c, userEntity, "iam:PutUserPermissionsBoundary", *in.UserName, in.PermissionsBoundary)
}

// DeleteUserPermissionsBoundary removes a user's permissions boundary.
func (d *Directory) DeleteUserPermissionsBoundary(ctx context.Context, c Call, in *iamapi.DeleteUserPermissionsBoundaryRequest) (*struct{}, error) {
	return d.setBoundary(ctx, c, userEntity, "iam:DeleteUserPermissionsBoundary", *in.UserName, nil)
}

// PutRolePermissionsBoundary sets a role's permissions boundary.
func (d *Directory) PutRolePermissionsBoundary(ctx context.Context, c Call, in *iamapi.PutRolePermissionsBoundaryRequest) (*struct{}, error) {
	return d.setBoundary(ctx, c, roleEntity, "iam:PutRolePermissionsBoundary", *in.RoleName, in.PermissionsBoundary)
}

// DeleteRolePermissionsBoundary removes a role's permissions boundary.
func (d *Directory) DeleteRolePermissionsBoundary(ctx context.Context, c Call, in *iamapi.DeleteRolePermissionsBoundaryRequest) (*struct{}, error) {
	return d.setBoundary(ctx, c, roleEntity, "iam:DeleteRolePermissionsBoundary", *in.RoleName, nil)
}

var _ = errors.New
