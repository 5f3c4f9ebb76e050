package iam

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// The organization's root and organizational units (Organizations API:
// CreateOrganizationalUnit, UpdateOrganizationalUnit,
// DeleteOrganizationalUnit, DescribeOrganizationalUnit, ListRoots,
// ListOrganizationalUnitsForParent, ListChildren, ListParents,
// ListAccountsForParent, MoveAccount). Only the management account calls
// them, as in AWS without delegated administrators.
//
// Guards (txn.go): a parent's record (the organization's for the root, the
// OU's own) guards its set of children and their names, so creating,
// renaming or moving into a parent rewrites it; the organization's record
// guards the number of OUs, so CreateOrganizationalUnit rewrites it too.

// Organizations quotas (Organizations User Guide, orgs_reference_limits.md).
const (
	maxOUs     = 2000 // organizational units in an organization
	maxOUDepth = 5    // levels of OUs under the root
	maxOrgTags = 50
)

// Organizations' texts for its errors (the API model's documentation of
// each error shape, which is what the service answers).
func parentNotFound() error {
	return orgapi.NewParentNotFoundException("We can't find a root or OU with the ParentId that you specified.")
}

func ouNotFound() error {
	return orgapi.NewOrganizationalUnitNotFoundException("We can't find an OU with the OrganizationalUnitId that you specified.")
}

func orgAccountNotFound() error {
	return orgapi.NewAccountNotFoundException("We can't find an Amazon Web Services account with the AccountId that you specified, or the account whose credentials you used to make this request isn't a member of an organization.")
}

func constraintViolation(reason, msg string) error {
	e := orgapi.NewConstraintViolationException(msg)
	e.Reason = reason
	return e
}

func invalidInput(reason, msg string) error {
	e := orgapi.NewInvalidInputException(msg)
	e.Reason = reason
	return e
}

// orgUpdate runs f on the organization in one transaction, retried as
// atomically retries it: AWSOrganizationsNotInUseException when there is
// none, and Organizations' answer when the transaction kept conflicting.
func (d *Directory) orgUpdate(ctx context.Context, f func(t *tx, o *Organization) error) error {
	return orgConflict(d.atomically(ctx, func(t *tx) error {
		o := t.org()
		if o == nil {
			return notInUse()
		}
		return f(t, o)
	}))
}

// orgConflict is Organizations' answer when a transaction kept conflicting.
func orgConflict(err error) error {
	if errors.Is(err, errTooManyConflicts) {
		return orgapi.NewConcurrentModificationException("AWS Organizations can't complete your request because it conflicts with another attempt to modify the same entity. Try again later.")
	}
	return err
}

// orgCall checks that the caller acts for the management account of an
// organization with all features, and that its policies allow action on
// resource; extra are condition keys (name, value, …).
func (d *Directory) orgCall(c Call, action, resource string, extra ...string) (*Organization, error) {
	o := d.organization()
	if o == nil || d.OrgID(c.Identity.Account) == "" {
		return nil, notInUse()
	}
	if c.Identity.Account != o.ManagementAccount {
		return nil, orgapi.NewAccessDeniedException("You don't have permissions to access this resource.")
	}
	if resource == "" {
		resource = "*"
	}
	if err := d.authorize(c, action, resource, extra...); err != nil {
		return nil, orgapi.NewAccessDeniedException("You don't have permissions to access this resource.")
	}
	return o, nil
}

// The reads of a transaction over the organization.

func (t *tx) ou(id string) *OrgUnit {
	t.read(ouKey(id))
	if t.v.orgs == nil {
		return nil
	}
	return t.v.orgs.ous[id]
}

func (t *tx) orgPolicy(id string) *OrgPolicy {
	if p := awsOrgPolicy(id); p != nil {
		return p
	}
	t.read(orgPolicyKey(id))
	if t.v.orgs == nil {
		return nil
	}
	return t.v.orgs.policies[id]
}

// member is an account's place: its record, or the root's defaults for an
// account that has none. nil for an account not in the organization.
func (t *tx) member(o *Organization, account string) *orgMember {
	a := t.account(account)
	if a == nil || (a.ID != o.ManagementAccount && a.Joined == "") {
		return nil
	}
	t.read(orgMemberKey(account))
	return memberOf(t.v, o, account)
}

func memberOf(v *view, o *Organization, account string) *orgMember {
	if v.orgs != nil {
		if m := v.orgs.members[account]; m != nil {
			return m
		}
	}
	return &orgMember{Account: account, Parent: rootOf(o).ID}
}

// inOrg reports whether an account is in the organization.
func inOrg(v *view, o *Organization, account string) bool {
	a := v.accounts[account]
	return a != nil && (a.ID == o.ManagementAccount || a.Joined != "")
}

// parent is a root or OU a transaction reads as the parent of children:
// its record guards them, so a write that adds or renames a child puts it
// back (guard).
type parent struct {
	root *OrgRoot
	ou   *OrgUnit
}

func (p parent) id() string {
	if p.ou != nil {
		return p.ou.ID
	}
	return p.root.ID
}

// depth is the number of OUs from the root down to p (0 for the root).
func (p parent) depth(v *view) int {
	n := 0
	for ou := p.ou; ou != nil && n <= maxOUDepth+1; n++ {
		ou = v.orgs.ous[ou.Parent]
	}
	return n
}

// parentFor reads the root or OU with an id, or reports nil.
func (t *tx) parentFor(o *Organization, id string) (parent, bool) {
	root := rootOf(o)
	if id == root.ID {
		return parent{root: &root}, true
	}
	if strings.HasPrefix(id, "ou-") {
		if ou := t.ou(id); ou != nil {
			return parent{root: &root, ou: ou}, true
		}
	}
	return parent{}, false
}

// guard rewrites a parent's record after a change to its children; o is
// the organization as the transaction will write it, if it writes it.
func (t *tx) guard(p parent, o *Organization) {
	if p.ou != nil {
		t.put(ouKey(p.ou.ID), p.ou)
		return
	}
	t.put(orgKey, o)
}

// ouPath is an OU's Path: o-…/r-…/ou-…/…/ (the OU itself last).
func ouPath(v *view, o *Organization, ou *OrgUnit) string {
	return entityPath(v, o, ou.Parent) + ou.ID + "/"
}

// entityPath is the path of the root or OU with an id: o-…/r-…/[ou-…/…].
func entityPath(v *view, o *Organization, id string) string {
	var chain []string
	for n := 0; strings.HasPrefix(id, "ou-") && v.orgs != nil && n <= maxOUDepth+1; n++ {
		ou := v.orgs.ous[id]
		if ou == nil {
			break
		}
		chain = append(chain, ou.ID)
		id = ou.Parent
	}
	var b strings.Builder
	b.WriteString(o.ID + "/" + rootOf(o).ID + "/")
	for i := len(chain) - 1; i >= 0; i-- {
		b.WriteString(chain[i] + "/")
	}
	return b.String()
}

func (d *Directory) apiOU(v *view, o *Organization, ou *OrgUnit) *orgapi.OrganizationalUnit {
	return &orgapi.OrganizationalUnit{Id: wire.Ptr(ou.ID), Arn: wire.Ptr(ouARN(o, ou.ID)), Name: wire.Ptr(ou.Name), Path: wire.Ptr(ouPath(v, o, ou))}
}

// checkOrgTags applies Organizations' tag rules.
func checkOrgTags(in []orgapi.Tag) ([]Tag, error) {
	if len(in) > maxOrgTags {
		return nil, constraintViolation("MAX_TAG_LIMIT_EXCEEDED", "You have exceeded the number of tags allowed on this resource.")
	}
	var out []Tag
	seen := map[string]bool{}
	for _, t := range in {
		k := wire.String(t.Key)
		if seen[k] {
			return nil, invalidInput("DUPLICATE_TAG_KEY", "Tag keys must be unique among the tags attached to the same entity.")
		}
		seen[k] = true
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidInput("INVALID_SYSTEM_TAGS_PARAMETER", "You provided a value that does not match the required pattern.")
		}
		out = append(out, Tag{Key: k, Value: wire.String(t.Value)})
	}
	return out, nil
}

// siblingNamed is the OU under parent named name (other than except), if any.
func siblingNamed(v *view, parentID, name, except string) *OrgUnit {
	if v.orgs == nil {
		return nil
	}
	for _, ou := range v.orgs.ous {
		if ou.Parent == parentID && ou.Name == name && ou.ID != except {
			return ou
		}
	}
	return nil
}

// CreateOrganizationalUnit creates an OU under a root or OU. An OU gets
// the default policy of every type enabled in the root.
func (d *Directory) CreateOrganizationalUnit(ctx context.Context, c Call, in *orgapi.CreateOrganizationalUnitRequest) (*orgapi.CreateOrganizationalUnitResponse, error) {
	o, err := d.orgCall(c, "organizations:CreateOrganizationalUnit", d.entityARN(*in.ParentId), orgTagConditionKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	tags, err := checkOrgTags(in.Tags)
	if err != nil {
		return nil, err
	}
	suffix, err := d.randomLower(8)
	if err != nil {
		return nil, err
	}
	var out *orgapi.OrganizationalUnit
	err = d.orgUpdate(ctx, func(t *tx, org *Organization) error {
		o = org
		p, ok := t.parentFor(o, *in.ParentId)
		if !ok {
			return parentNotFound()
		}
		if siblingNamed(t.v, p.id(), *in.Name, "") != nil {
			return orgapi.NewDuplicateOrganizationalUnitException("An OU with the same name already exists.")
		}
		if p.depth(t.v) >= maxOUDepth {
			return constraintViolation("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
		}
		if t.v.orgs != nil && len(t.v.orgs.ous) >= maxOUs {
			return constraintViolation("OU_NUMBER_LIMIT_EXCEEDED", "You attempted to exceed the number of OUs that you can have in an organization.")
		}
		root := rootOf(o)
		ou := &OrgUnit{ID: "ou-" + strings.TrimPrefix(root.ID, "r-") + "-" + suffix, Name: *in.Name, Parent: p.id(), Created: d.now().UTC(), Tags: tags}
		if t.ou(ou.ID) != nil {
			return errTooManyConflicts // a random id taken: vanishingly rare
		}
		t.put(ouKey(ou.ID), ou)
		// The organization's record counts OUs and, for the root, guards
		// its children.
		t.put(orgKey, o)
		if p.ou != nil {
			t.guard(p, o)
		}
		out = d.apiOU(t.v, o, ou)
		out.Path = wire.Ptr(entityPath(t.v, o, p.id()) + ou.ID + "/")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.CreateOrganizationalUnitResponse{OrganizationalUnit: out}, nil
}

// entityARN is the ARN of a root, OU or account id of the organization, for
// authorization; "" when there is no organization.
func (d *Directory) entityARN(id string) string {
	o := d.organization()
	if o == nil {
		return ""
	}
	switch {
	case strings.HasPrefix(id, "r-"):
		return rootARN(o, id)
	case strings.HasPrefix(id, "ou-"):
		return ouARN(o, id)
	case strings.HasPrefix(id, "p-"):
		if p := awsOrgPolicy(id); p != nil {
			return orgPolicyARN(o, p)
		}
		d.mu.RLock()
		defer d.mu.RUnlock()
		if d.v.orgs != nil {
			if p := d.v.orgs.policies[id]; p != nil {
				return orgPolicyARN(o, p)
			}
		}
		return "arn:aws:organizations::" + o.ManagementAccount + ":policy/" + o.ID + "/*/" + id
	}
	return orgAccountARN(o, id)
}

// UpdateOrganizationalUnit renames an OU.
func (d *Directory) UpdateOrganizationalUnit(ctx context.Context, c Call, in *orgapi.UpdateOrganizationalUnitRequest) (*orgapi.UpdateOrganizationalUnitResponse, error) {
	if _, err := d.orgCall(c, "organizations:UpdateOrganizationalUnit", d.entityARN(*in.OrganizationalUnitId)); err != nil {
		return nil, err
	}
	var out *orgapi.OrganizationalUnit
	err := d.orgUpdate(ctx, func(t *tx, o *Organization) error {
		ou := t.ou(*in.OrganizationalUnitId)
		if ou == nil {
			return ouNotFound()
		}
		if in.Name != nil && *in.Name != ou.Name {
			if siblingNamed(t.v, ou.Parent, *in.Name, ou.ID) != nil {
				return orgapi.NewDuplicateOrganizationalUnitException("An OU with the same name already exists.")
			}
			p, ok := t.parentFor(o, ou.Parent)
			if !ok {
				return ouNotFound()
			}
			renamed := clone(ou)
			renamed.Name = *in.Name
			t.put(ouKey(ou.ID), renamed)
			t.guard(p, o) // sibling names
			ou = renamed
		}
		out = d.apiOU(t.v, o, ou)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.UpdateOrganizationalUnitResponse{OrganizationalUnit: out}, nil
}

// DeleteOrganizationalUnit deletes an empty OU (no accounts, no OUs).
func (d *Directory) DeleteOrganizationalUnit(ctx context.Context, c Call, in *orgapi.DeleteOrganizationalUnitRequest) (*struct{}, error) {
	if _, err := d.orgCall(c, "organizations:DeleteOrganizationalUnit", d.entityARN(*in.OrganizationalUnitId)); err != nil {
		return nil, err
	}
	err := d.orgUpdate(ctx, func(t *tx, o *Organization) error {
		ou := t.ou(*in.OrganizationalUnitId)
		if ou == nil {
			return ouNotFound()
		}
		// The OU's record guards its children: reading it is enough.
		if len(childOUs(t.v, ou.ID)) > 0 || len(childAccounts(t.v, o, ou.ID)) > 0 {
			return orgapi.NewOrganizationalUnitNotEmptyException("The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.")
		}
		t.del(ouKey(ou.ID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// DescribeOrganizationalUnit describes an OU.
func (d *Directory) DescribeOrganizationalUnit(ctx context.Context, c Call, in *orgapi.DescribeOrganizationalUnitRequest) (*orgapi.DescribeOrganizationalUnitResponse, error) {
	if _, err := d.orgCall(c, "organizations:DescribeOrganizationalUnit", d.entityARN(*in.OrganizationalUnitId)); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, ou := d.v.org, (*OrgUnit)(nil)
	if d.v.orgs != nil {
		ou = d.v.orgs.ous[*in.OrganizationalUnitId]
	}
	if o == nil || ou == nil {
		return nil, ouNotFound()
	}
	return &orgapi.DescribeOrganizationalUnitResponse{OrganizationalUnit: d.apiOU(d.v, o, ou)}, nil
}

// childOUs lists the OUs under a parent, oldest first.
func childOUs(v *view, parentID string) []*OrgUnit {
	if v.orgs == nil {
		return nil
	}
	var out []*OrgUnit
	for _, ou := range v.orgs.ous {
		if ou.Parent == parentID {
			out = append(out, ou)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// childAccounts lists the accounts of the organization under a parent,
// oldest first.
func childAccounts(v *view, o *Organization, parentID string) []*Account {
	var out []*Account
	for id, a := range v.accounts {
		if inOrg(v, o, id) && memberOf(v, o, id).Parent == parentID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// orgPage is a page of a listing: MaxResults (default 20, Organizations'
// largest page) items after NextToken.
func orgPage[T any](items []T, token *string, maxResults *int32) ([]T, *string, error) {
	if maxResults == nil {
		maxResults = wire.Ptr(int32(20))
	}
	got, _, next, err := pageOf(items, token, maxResults)
	if err != nil {
		return nil, nil, invalidInput("INVALID_NEXT_TOKEN", "You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.")
	}
	return append([]T{}, got...), next, nil
}

// apiRoot is the root as ListRoots and the policy type operations answer it.
func apiRoot(o *Organization, r OrgRoot) orgapi.Root {
	out := orgapi.Root{Id: wire.Ptr(r.ID), Arn: wire.Ptr(rootARN(o, r.ID)), Name: wire.Ptr("Root"), PolicyTypes: []orgapi.PolicyTypeSummary{}}
	for _, typ := range []string{scpType, rcpType} {
		if _, ok := r.Types[typ]; ok {
			out.PolicyTypes = append(out.PolicyTypes, orgapi.PolicyTypeSummary{Type: wire.Ptr(typ), Status: wire.Ptr("ENABLED")})
		}
	}
	return out
}

// ListRoots lists the organization's root.
func (d *Directory) ListRoots(ctx context.Context, c Call, in *orgapi.ListRootsRequest) (*orgapi.ListRootsResponse, error) {
	o, err := d.orgCall(c, "organizations:ListRoots", "*")
	if err != nil {
		return nil, err
	}
	roots, next, err := orgPage([]orgapi.Root{apiRoot(o, rootOf(o))}, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListRootsResponse{Roots: roots, NextToken: next}, nil
}

// readParent returns the organization and checks that a root or OU
// exists, from one snapshot of the view; d.mu must be held.
func (d *Directory) readParent(id string) (*Organization, error) {
	o := d.v.org
	if o == nil {
		return nil, notInUse()
	}
	if id == rootOf(o).ID {
		return o, nil
	}
	if d.v.orgs != nil && d.v.orgs.ous[id] != nil {
		return o, nil
	}
	return nil, parentNotFound()
}

// listUnder answers a listing of what is under a root or OU: action is
// authorized on the parent, collect gathers the items from the view under
// its read lock once the parent is found, and they are paged.
func listUnder[T any](d *Directory, c Call, action, parentID string, token *string, maxResults *int32, collect func(o *Organization) []T) ([]T, *string, error) {
	if _, err := d.orgCall(c, action, d.entityARN(parentID)); err != nil {
		return nil, nil, err
	}
	d.mu.RLock()
	o, err := d.readParent(parentID)
	var items []T
	if err == nil {
		items = collect(o)
	}
	d.mu.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	return orgPage(items, token, maxResults)
}

// ListOrganizationalUnitsForParent lists the OUs under a root or OU.
func (d *Directory) ListOrganizationalUnitsForParent(ctx context.Context, c Call, in *orgapi.ListOrganizationalUnitsForParentRequest) (*orgapi.ListOrganizationalUnitsForParentResponse, error) {
	page, next, err := listUnder(d, c, "organizations:ListOrganizationalUnitsForParent", *in.ParentId, in.NextToken, in.MaxResults, func(o *Organization) (ous []orgapi.OrganizationalUnit) {
		for _, ou := range childOUs(d.v, *in.ParentId) {
			ous = append(ous, *d.apiOU(d.v, o, ou))
		}
		return ous
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.ListOrganizationalUnitsForParentResponse{OrganizationalUnits: page, NextToken: next}, nil
}

// ListChildren lists the accounts or the OUs under a root or OU.
func (d *Directory) ListChildren(ctx context.Context, c Call, in *orgapi.ListChildrenRequest) (*orgapi.ListChildrenResponse, error) {
	page, next, err := listUnder(d, c, "organizations:ListChildren", *in.ParentId, in.NextToken, in.MaxResults, func(o *Organization) (kids []orgapi.Child) {
		if *in.ChildType == "ACCOUNT" {
			for _, a := range childAccounts(d.v, o, *in.ParentId) {
				kids = append(kids, orgapi.Child{Id: wire.Ptr(a.ID), Type: wire.Ptr("ACCOUNT")})
			}
			return kids
		}
		for _, ou := range childOUs(d.v, *in.ParentId) {
			kids = append(kids, orgapi.Child{Id: wire.Ptr(ou.ID), Type: wire.Ptr("ORGANIZATIONAL_UNIT")})
		}
		return kids
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.ListChildrenResponse{Children: page, NextToken: next}, nil
}

// ListParents lists the parent (one) of an account or OU.
func (d *Directory) ListParents(ctx context.Context, c Call, in *orgapi.ListParentsRequest) (*orgapi.ListParentsResponse, error) {
	if _, err := d.orgCall(c, "organizations:ListParents", d.entityARN(*in.ChildId)); err != nil {
		return nil, err
	}
	d.mu.RLock()
	o := d.v.org
	var parentID string
	switch {
	case o == nil:
	case strings.HasPrefix(*in.ChildId, "ou-"):
		if d.v.orgs != nil && d.v.orgs.ous[*in.ChildId] != nil {
			parentID = d.v.orgs.ous[*in.ChildId].Parent
		}
	case inOrg(d.v, o, *in.ChildId):
		parentID = memberOf(d.v, o, *in.ChildId).Parent
	}
	d.mu.RUnlock()
	if parentID == "" {
		return nil, orgapi.NewChildNotFoundException("We can't find an organizational unit (OU) or Amazon Web Services account with the ChildId that you specified.")
	}
	typ := "ORGANIZATIONAL_UNIT"
	if strings.HasPrefix(parentID, "r-") {
		typ = "ROOT"
	}
	page, next, err := orgPage([]orgapi.Parent{{Id: wire.Ptr(parentID), Type: wire.Ptr(typ)}}, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListParentsResponse{Parents: page, NextToken: next}, nil
}

// ListAccountsForParent lists the accounts under a root or OU.
func (d *Directory) ListAccountsForParent(ctx context.Context, c Call, in *orgapi.ListAccountsForParentRequest) (*orgapi.ListAccountsForParentResponse, error) {
	page, next, err := listUnder(d, c, "organizations:ListAccountsForParent", *in.ParentId, in.NextToken, in.MaxResults, func(o *Organization) (as []orgapi.Account) {
		for _, a := range childAccounts(d.v, o, *in.ParentId) {
			as = append(as, apiOrgAccount(o, a))
		}
		return as
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.ListAccountsForParentResponse{Accounts: page, NextToken: next}, nil
}

// apiOrgAccount is an account as the Organizations listings answer it.
func apiOrgAccount(o *Organization, a *Account) orgapi.Account {
	method := "CREATED"
	if a.ID == o.ManagementAccount {
		method = "INVITED"
	}
	return orgapi.Account{
		Id: wire.Ptr(a.ID), Arn: wire.Ptr(orgAccountARN(o, a.ID)),
		Email: wire.Ptr(a.Email), Name: wire.Ptr(a.Name), Status: wire.Ptr("ACTIVE"), State: wire.Ptr("ACTIVE"),
		JoinedMethod: wire.Ptr(method), JoinedTimestamp: wire.Ptr(wire.Timestamp(a.Created)),
	}
}

// MoveAccount moves an account from its parent to another root or OU. The
// account keeps the policies attached to it; those it inherited change
// with its place.
func (d *Directory) MoveAccount(ctx context.Context, c Call, in *orgapi.MoveAccountRequest) (*struct{}, error) {
	if _, err := d.orgCall(c, "organizations:MoveAccount", d.entityARN(*in.AccountId)); err != nil {
		return nil, err
	}
	err := d.orgUpdate(ctx, func(t *tx, o *Organization) error {
		src, ok := t.parentFor(o, *in.SourceParentId)
		if !ok {
			return orgapi.NewSourceParentNotFoundException("We can't find a source root or OU with the ParentId that you specified.")
		}
		dst, ok := t.parentFor(o, *in.DestinationParentId)
		if !ok {
			return orgapi.NewDestinationParentNotFoundException("We can't find the destination container (a root or OU) with the ParentId that you specified.")
		}
		m := t.member(o, *in.AccountId)
		if m == nil || m.Parent != src.id() {
			return orgAccountNotFound()
		}
		if m.Parent == dst.id() {
			return orgapi.NewDuplicateAccountException("That account is already present in the specified destination.")
		}
		moved := clone(m)
		moved.Parent = dst.id()
		t.put(orgMemberKey(m.Account), moved)
		t.guard(dst, o) // the destination's children
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}
