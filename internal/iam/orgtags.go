package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// Organizations' tags (TagResource, UntagResource, ListTagsForResource) on
// the entities that carry them: accounts, the root, OUs and customer
// managed policies (Organizations API: "Currently, you can attach tags to
// the following resources"). Each lives in the entity's record — the
// root's in the organization's, an account's in its place in the
// organization (orgMember) — so a tag change is one write of the record
// the entity's other changes write too. AWS managed policies carry none.
// The tags are the aws:ResourceTag keys of the Organizations requests on
// the entity (restags.go).

// orgTagConditionKeys are aws:RequestTag/<key> and aws:TagKeys of a
// request that adds tags.
func orgTagConditionKeys(ts []orgapi.Tag) []string {
	var kv []string
	for _, t := range ts {
		kv = append(kv, "aws:RequestTag/"+wire.String(t.Key), wire.String(t.Value), "aws:TagKeys", wire.String(t.Key))
	}
	return kv
}

// orgTags are the tags of the entity of the organization with an id, and
// whether there is such an entity that carries tags.
func orgTags(v *view, o *Organization, id string) ([]Tag, bool) {
	switch {
	case id == rootOf(o).ID:
		return rootOf(o).Tags, true
	case strings.HasPrefix(id, "ou-"), strings.HasPrefix(id, "p-"):
		if v.orgs == nil {
			return nil, false
		}
		if ou := v.orgs.ous[id]; ou != nil {
			return ou.Tags, true
		}
		if p := v.orgs.policies[id]; p != nil {
			return p.Tags, true
		}
	case isAccountID(id) && inOrg(v, o, id):
		return memberOf(v, o, id).Tags, true
	}
	return nil, false
}

func isAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// retag reads the entity with an id in a transaction and writes it with
// fn's tags; TargetNotFoundException if there is no such entity.
func (t *tx) retag(id string, fn func([]Tag) ([]Tag, error)) error {
	o := t.org()
	if o == nil {
		return notInUse()
	}
	root := rootOf(o)
	switch {
	case id == root.ID:
		tags, err := fn(root.Tags)
		if err != nil {
			return err
		}
		cur := clone(o)
		r := rootOf(cur)
		r.Tags = tags
		cur.Root = &r
		t.put(orgKey, cur)
		return nil
	case strings.HasPrefix(id, "ou-"):
		if ou := t.ou(id); ou != nil {
			tags, err := fn(ou.Tags)
			if err != nil {
				return err
			}
			cur := clone(ou)
			cur.Tags = tags
			t.put(ouKey(id), cur)
			return nil
		}
	case strings.HasPrefix(id, "p-") && awsOrgPolicy(id) == nil:
		if p := t.orgPolicy(id); p != nil {
			tags, err := fn(p.Tags)
			if err != nil {
				return err
			}
			cur := clone(p)
			cur.Tags = tags
			t.put(orgPolicyKey(id), cur)
			return nil
		}
	case isAccountID(id):
		// An account without a record of its own gets one, under the
		// root where it already sits (memberOf).
		if m := t.member(o, id); m != nil {
			tags, err := fn(m.Tags)
			if err != nil {
				return err
			}
			cur := clone(m)
			cur.Tags = tags
			t.put(orgMemberKey(id), cur)
			return nil
		}
	}
	return targetNotFound()
}

// TagResource adds tags to an account, the root, an OU or a policy, or
// replaces the values of keys it has. If any tag is not valid or the
// entity would have more than 50, none is added.
func (d *Directory) TagResource(ctx context.Context, c Call, in *orgapi.TagResourceRequest) (*struct{}, error) {
	id := *in.ResourceId
	if _, err := d.orgCall(c, "organizations:TagResource", d.entityARN(id), orgTagConditionKeys(in.Tags)...); err != nil {
		return nil, err
	}
	add, err := checkOrgTags(in.Tags)
	if err != nil {
		return nil, err
	}
	err = d.atomically(ctx, func(t *tx) error {
		return t.retag(id, func(have []Tag) ([]Tag, error) {
			out := slices.Clone(have)
			for _, a := range add {
				if i := slices.IndexFunc(out, func(h Tag) bool { return h.Key == a.Key }); i >= 0 {
					out[i] = a
				} else {
					out = append(out, a)
				}
			}
			if len(out) > maxOrgTags {
				return nil, constraintViolation("MAX_TAG_LIMIT_EXCEEDED", "You have exceeded the number of tags allowed on this resource.")
			}
			return out, nil
		})
	})
	if err != nil {
		return nil, orgConflict(err)
	}
	return &struct{}{}, nil
}

// UntagResource removes the tags with the keys given from an account, the
// root, an OU or a policy; a key it does not have is no error.
func (d *Directory) UntagResource(ctx context.Context, c Call, in *orgapi.UntagResourceRequest) (*struct{}, error) {
	id := *in.ResourceId
	var extra []string
	for _, k := range in.TagKeys {
		extra = append(extra, "aws:TagKeys", k)
	}
	if _, err := d.orgCall(c, "organizations:UntagResource", d.entityARN(id), extra...); err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidInput("INVALID_SYSTEM_TAGS_PARAMETER", "You provided a value that does not match the required pattern.")
		}
	}
	err := d.atomically(ctx, func(t *tx) error {
		return t.retag(id, func(have []Tag) ([]Tag, error) {
			return slices.DeleteFunc(slices.Clone(have), func(h Tag) bool { return slices.Contains(in.TagKeys, h.Key) }), nil
		})
	})
	if err != nil {
		return nil, orgConflict(err)
	}
	return &struct{}{}, nil
}

// ListTagsForResource lists the tags of an account, the root, an OU or a
// policy, in the order they were added.
func (d *Directory) ListTagsForResource(ctx context.Context, c Call, in *orgapi.ListTagsForResourceRequest) (*orgapi.ListTagsForResourceResponse, error) {
	id := *in.ResourceId
	if _, err := d.orgCall(c, "organizations:ListTagsForResource", d.entityARN(id)); err != nil {
		return nil, err
	}
	d.mu.RLock()
	var tags []Tag
	found := false
	if o := d.v.org; o != nil {
		tags, found = orgTags(d.v, o, id)
	}
	d.mu.RUnlock()
	if !found {
		return nil, targetNotFound()
	}
	out := make([]orgapi.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, orgapi.Tag{Key: wire.Ptr(t.Key), Value: wire.Ptr(t.Value)})
	}
	page, next, err := orgPage(out, in.NextToken, nil)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListTagsForResourceResponse{Tags: page, NextToken: next}, nil
}
