package iam

import (
	"slices"
	"strings"
	"time"
)

// The organization's structure and policies (Organizations User Guide:
// roots, organizational units, policies). The root lives in the
// organization's record, so that everything that grows the root's set of
// children (CreateAccount, an OU or account placed under it) rewrites one
// record; the rest has records of its own:
//
//	org/organization                        the organization and its root
//	org/ous/<ou-id>                         an organizational unit
//	org/policies/<p-id>                     a customer managed SCP or RCP
//	org/accounts/<account id>               an account's place: its parent and attached policies
//
// An account without a record of its own sits under the root with the
// default policies. AWS managed policies (FullAWSAccess, RCPFullAWSAccess)
// have no records.
//
// Attachments are kept per target and per policy type, stamped with the
// enablement of the type they were made under (OrgRoot.Types): disabling a
// type detaches every policy of the type from every entity (Organizations
// User Guide, SCP effects on permissions: "When you disable the SCP policy
// type in a root, all SCPs are automatically detached"), and enabling it
// again leaves only the default policy attached, which a new stamp does
// without rewriting every target.
const (
	orgPrefix       = "org/"
	ouPrefix        = "org/ous/"
	orgPolicyPrefix = "org/policies/"
	orgMemberPrefix = "org/accounts/"
)

func ouKey(id string) string        { return ouPrefix + id }
func orgPolicyKey(id string) string { return orgPolicyPrefix + id }
func orgMemberKey(id string) string { return orgMemberPrefix + id }

// Policy types Trent enforces.
const (
	scpType = "SERVICE_CONTROL_POLICY"
	rcpType = "RESOURCE_CONTROL_POLICY"
)

// The AWS managed policies attached by default, one per type.
const (
	fullAWSAccessID    = "p-FullAWSAccess"
	rcpFullAWSAccessID = "p-RCPFullAWSAccess"
)

// OrgRoot is the organization's one root.
type OrgRoot struct {
	ID string `json:"id"` // r-…
	// Types are the policy types enabled in the root, each with the stamp
	// of its enablement; attachments stamped otherwise lapsed.
	Types map[string]int64 `json:"types,omitempty"`
	// Stamp is the last stamp given to an enablement.
	Stamp    int64       `json:"stamp,omitempty"`
	Attached attachments `json:"attached,omitempty"`
	Tags     []Tag       `json:"tags,omitempty"`
}

// attachments are the policies attached to a target, by policy type.
type attachments map[string]attachment

// attachment is the policies of one type attached to a target, under one
// enablement of the type.
type attachment struct {
	Stamp int64    `json:"stamp"`
	IDs   []string `json:"ids"`
}

// OrgUnit is an organizational unit.
type OrgUnit struct {
	ID       string      `json:"id"` // ou-<root>-<random>
	Name     string      `json:"name"`
	Parent   string      `json:"parent"` // r-… or ou-…
	Created  time.Time   `json:"created"`
	Tags     []Tag       `json:"tags,omitempty"`
	Attached attachments `json:"attached,omitempty"`
}

// OrgPolicy is a customer managed policy of the organization.
type OrgPolicy struct {
	ID          string    `json:"id"` // p-…
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Type        string    `json:"type"`
	Content     string    `json:"content"`
	Created     time.Time `json:"created"`
	Tags        []Tag     `json:"tags,omitempty"`
}

// orgMember is an account's place in the organization.
type orgMember struct {
	Account  string      `json:"account"`
	Parent   string      `json:"parent"`
	Attached attachments `json:"attached,omitempty"`
	Tags     []Tag       `json:"tags,omitempty"`
}

// orgView holds the organization's records of the view.
type orgView struct {
	ous      map[string]*OrgUnit
	policies map[string]*OrgPolicy
	members  map[string]*orgMember
}

func (v *view) organizationView() *orgView {
	if v.orgs == nil {
		v.orgs = &orgView{ous: map[string]*OrgUnit{}, policies: map[string]*OrgPolicy{}, members: map[string]*orgMember{}}
	}
	return v.orgs
}

// applyOrg puts or deletes a record under org/ other than the organization.
func (v *view) applyOrg(key string, value []byte) error {
	switch {
	case strings.HasPrefix(key, ouPrefix):
		return put(v.organizationView().ous, strings.TrimPrefix(key, ouPrefix), value)
	case strings.HasPrefix(key, orgPolicyPrefix):
		return put(v.organizationView().policies, strings.TrimPrefix(key, orgPolicyPrefix), value)
	case strings.HasPrefix(key, orgMemberPrefix):
		return put(v.organizationView().members, strings.TrimPrefix(key, orgMemberPrefix), value)
	}
	return nil
}

// rootOf is the organization's root. Organizations stored before roots
// were recorded get the root their id implies, the same on every node.
func rootOf(o *Organization) OrgRoot {
	if o.Root != nil {
		return *o.Root
	}
	return OrgRoot{ID: "r-" + strings.TrimPrefix(o.ID, "o-")[:4]}
}

// effective is what is attached of a policy type under the root's current
// enablement of it: nil when the type is not enabled, the type's default
// policy when nothing was attached under this enablement.
func (r *OrgRoot) effective(a attachments, typ string) []string {
	stamp, ok := r.Types[typ]
	if !ok {
		return nil
	}
	if at, ok := a[typ]; ok && at.Stamp == stamp {
		return at.IDs
	}
	return []string{defaultPolicy(typ)}
}

// with returns a copy of a with typ's attachments set to ids under the
// root's current enablement.
func (r *OrgRoot) with(a attachments, typ string, ids []string) attachments {
	out := attachments{}
	for t, at := range a {
		if r.Types[t] == at.Stamp {
			out[t] = at // drop what lapsed
		}
	}
	out[typ] = attachment{Stamp: r.Types[typ], IDs: slices.Clone(ids)}
	return out
}

func defaultPolicy(typ string) string {
	if typ == rcpType {
		return rcpFullAWSAccessID
	}
	return fullAWSAccessID
}

// awsOrgPolicy is an AWS managed policy, or nil.
func awsOrgPolicy(id string) *OrgPolicy {
	switch id {
	case fullAWSAccessID:
		return &OrgPolicy{ID: id, Name: "FullAWSAccess", Description: "Allows access to every operation", Type: scpType,
			Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}
	case rcpFullAWSAccessID:
		return &OrgPolicy{ID: id, Name: "RCPFullAWSAccess", Description: "Allows access to every operation", Type: rcpType,
			Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`}
	}
	return nil
}

// orgPolicyARN is the ARN of a policy of organization o (managed by
// mgmt), or of an AWS managed one.
func orgPolicyARN(o *Organization, p *OrgPolicy) string {
	typ := strings.ToLower(p.Type)
	if awsOrgPolicy(p.ID) != nil {
		return "arn:aws:organizations::aws:policy/" + typ + "/" + p.ID
	}
	return "arn:aws:organizations::" + o.ManagementAccount + ":policy/" + o.ID + "/" + typ + "/" + p.ID
}

func rootARN(o *Organization, root string) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":root/" + o.ID + "/" + root
}

func ouARN(o *Organization, ou string) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":ou/" + o.ID + "/" + ou
}

func orgAccountARN(o *Organization, account string) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":account/" + o.ID + "/" + account
}
