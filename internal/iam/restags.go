package iam

import (
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/policy"
)

// The tags of the resource a request acts on are its aws:ResourceTag/<key>
// keys (IAM User Guide, reference_policies_condition-keys: "included in
// the request context when the requested resource already has attached
// tags"), for every IAM, STS and Organizations resource Trent tags: users,
// roles, customer managed policies, OIDC and SAML providers and virtual MFA
// devices; accounts, the root, OUs and policies of the organization. IAM
// and STS also set iam:ResourceTag/<key> for IAM resources
// (reference_policies_iam-condition-keys). Without them a Deny on a
// resource's tags would be accepted and never fire.

// resourceTags are the tags of the IAM or Organizations resource an ARN
// names, as the view has them now; iamResource is whether it is an IAM
// resource (iam:ResourceTag). A resource that does not exist, or whose ARN
// is not the one it has now (another path), has none.
func (d *Directory) resourceTags(resource string) (tags []Tag, iamResource bool) {
	a, err := arn.Parse(resource)
	if err != nil {
		return nil, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch a.Service {
	case "iam":
		return d.iamTagsLocked(a, resource), true
	case "organizations":
		return d.orgTagsLocked(a), false
	}
	return nil, false
}

// iamTagsLocked are the tags of an IAM resource; d.mu is held.
func (d *Directory) iamTagsLocked(a arn.ARN, resource string) []Tag {
	kind, rest, _ := strings.Cut(a.Resource, "/")
	name := rest[strings.LastIndexByte(rest, '/')+1:]
	switch kind {
	case "user":
		if u := d.v.users[entityIndex(a.Account, name)]; u != nil && UserARN(a.Account, u.Path, u.Name) == resource {
			return u.Tags
		}
	case "role":
		if r := d.v.roles[entityIndex(a.Account, name)]; r != nil && RoleARN(a.Account, r.Path, r.Name) == resource {
			return r.Tags
		}
	case "policy":
		if p := d.v.policies[entityIndex(a.Account, name)]; p != nil && PolicyARN(a.Account, p.Path, p.Name) == resource {
			return p.Tags
		}
	case "oidc-provider":
		if d.v.fed != nil && d.v.fed.oidc[a.Account+"/"+rest] != nil {
			return d.v.fed.oidc[a.Account+"/"+rest].Tags
		}
	case "saml-provider":
		if d.v.fed != nil && d.v.fed.saml[a.Account+"/"+strings.ToLower(rest)] != nil {
			return d.v.fed.saml[a.Account+"/"+strings.ToLower(rest)].Tags
		}
	case "mfa":
		if d.v.fed != nil {
			if m := d.v.fed.mfa[a.Account+"/"+strings.ToLower(name)]; m != nil && MFADeviceARN(a.Account, m.Path, m.Name) == resource {
				return m.Tags
			}
		}
	}
	return nil
}

// orgTagsLocked are the tags of an account, the root, an OU or a policy of
// the organization; d.mu is held. The ARNs end in the entity's id
// (orgrecords.go).
func (d *Directory) orgTagsLocked(a arn.ARN) []Tag {
	o := d.v.org
	if o == nil || a.Account != o.ManagementAccount {
		return nil // the organization's ARNs are of its management account; AWS managed policies have no tags
	}
	_, rest, _ := strings.Cut(a.Resource, "/")
	if !strings.HasPrefix(rest, o.ID+"/") {
		return nil
	}
	tags, _ := orgTags(d.v, o, rest[strings.LastIndexByte(rest, '/')+1:])
	return tags
}

// setResourceTags adds the resource tag keys of a resource to a request's keys.
func setResourceTags(keys policy.Keys, tags []Tag, iamResource bool) {
	for _, t := range tags {
		// IAM tag keys are unique without regard to case and
		// Organizations' are not: a key twice in two cases is one
		// ambiguous condition key (SetOne), decided failing closed.
		keys.SetOne("aws:ResourceTag/"+t.Key, t.Value)
		if iamResource {
			keys.SetOne("iam:ResourceTag/"+t.Key, t.Value)
		}
	}
}
