package iam

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// The organization's policies (Organizations API: CreatePolicy,
// UpdatePolicy, DeletePolicy, DescribePolicy, ListPolicies, AttachPolicy,
// DetachPolicy, ListPoliciesForTarget, ListTargetsForPolicy,
// EnablePolicyType, DisablePolicyType) of the two types that govern
// authorization: service control policies (SCPs), which limit the
// principals of member accounts, and resource control policies (RCPs),
// which limit access to the resources of member accounts. Trent enforces
// both (guardrails.go); it serves no other policy type.
//
// Guards (txn.go): a customer policy's record guards the set of targets
// that attach it (AttachPolicy rewrites it, DeletePolicy reads it); the
// organization's record guards the policies' names and their number
// (CreatePolicy and a rename rewrite it) and the enabled types (which
// every attachment reads); a target's record holds its attachments.

// Quotas (Organizations User Guide, orgs_reference_limits.md).
const (
	maxOrgPolicies      = 1000 // policies of one type in an organization
	maxOrgPolicyChars   = 5120 // characters of an SCP or RCP document
	maxPoliciesOfTarget = 5    // policies of one type attached to a root, OU or account
)

func policyNotFound() error {
	return orgapi.NewPolicyNotFoundException("We can't find a policy with the PolicyId that you specified.")
}

func targetNotFound() error {
	return orgapi.NewTargetNotFoundException("We can't find a root, OU, account, or policy with the TargetId that you specified.")
}

func policyTypeNotEnabled() error {
	return orgapi.NewPolicyTypeNotEnabledException("The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root. For more information, see Enabling all features in your organization in the Organizations User Guide.")
}

func immutablePolicy() error {
	return invalidInput("IMMUTABLE_POLICY", "You specified a policy that is managed by Amazon Web Services and can't be modified.")
}

// checkPolicyType refuses a policy type this server does not serve, and
// the policy types of an organization without all features.
func checkPolicyType(o *Organization, typ string) error {
	if o.FeatureSet != "ALL" {
		return orgapi.NewPolicyTypeNotAvailableForOrganizationException("You can't use the specified policy type with the feature set currently enabled for this organization. For example, you can enable SCPs only after you enable all features in the organization. For more information, see Managing Organizations policiesin the Organizations User Guide.")
	}
	if typ != scpType && typ != rcpType {
		return orgapi.NewPolicyTypeNotAvailableForOrganizationException("This Trent server supports the policy types SERVICE_CONTROL_POLICY and RESOURCE_CONTROL_POLICY only.")
	}
	return nil
}

// malformedOrgPolicy is Organizations' answer to a document that is not a
// valid policy of its type.
func malformedOrgPolicy() error {
	return orgapi.NewMalformedPolicyDocumentException("The provided policy document doesn't meet the requirements of the specified policy type.")
}

// checkOrgPolicy validates an SCP or RCP document. An SCP is an identity
// policy without a Principal (Organizations User Guide, SCP syntax: the
// full IAM policy language, Principal and NotPrincipal unsupported). An
// RCP is a resource-based policy whose statements deny (Allow only in
// RCPFullAWSAccess) to the Principal "*", without NotPrincipal or
// NotAction (RCP syntax).
func checkOrgPolicy(typ, content string) error {
	if utf8.RuneCountInString(content) > maxOrgPolicyChars {
		return constraintViolation("POLICY_CONTENT_LIMIT_EXCEEDED", "You attempted to create a policy that is larger than the maximum size.")
	}
	kind := policy.IdentityKind
	if typ == rcpType {
		kind = policy.ResourceKind
	}
	if _, err := policy.Compile([]byte(content), policy.Options{Kind: kind, KnownKey: authz.KnownConditionKey}); err != nil {
		return malformedOrgPolicy()
	}
	if typ != rcpType {
		return nil
	}
	var doc struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(content), &doc) != nil {
		return malformedOrgPolicy()
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(doc.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(doc.Statement, &one) != nil {
			return malformedOrgPolicy()
		}
		stmts = append(stmts, one)
	}
	for _, st := range stmts {
		var effect, principal string
		if json.Unmarshal(st["Effect"], &effect) != nil || effect != "Deny" {
			return malformedOrgPolicy()
		}
		if json.Unmarshal(st["Principal"], &principal) != nil || principal != "*" {
			return malformedOrgPolicy()
		}
		if st["NotPrincipal"] != nil || st["NotAction"] != nil {
			return malformedOrgPolicy()
		}
	}
	return nil
}

// apiPolicySummary describes a policy.
func apiPolicySummary(o *Organization, p *OrgPolicy) *orgapi.PolicySummary {
	return &orgapi.PolicySummary{
		Id: wire.Ptr(p.ID), Arn: wire.Ptr(orgPolicyARN(o, p)), Name: wire.Ptr(p.Name), Description: wire.Ptr(p.Description),
		Type: wire.Ptr(p.Type), AwsManaged: wire.Ptr(awsOrgPolicy(p.ID) != nil),
	}
}

func apiOrgPolicy(o *Organization, p *OrgPolicy) *orgapi.Policy {
	return &orgapi.Policy{PolicySummary: apiPolicySummary(o, p), Content: wire.Ptr(p.Content)}
}

// policiesOfType lists the policies of a type, the AWS managed one first,
// then the customer's oldest first.
func policiesOfType(v *view, typ string) []*OrgPolicy {
	if typ != scpType && typ != rcpType {
		return nil
	}
	out := []*OrgPolicy{awsOrgPolicy(defaultPolicy(typ))}
	var mine []*OrgPolicy
	if v.orgs != nil {
		for _, p := range v.orgs.policies {
			if p.Type == typ {
				mine = append(mine, p)
			}
		}
	}
	sort.Slice(mine, func(i, j int) bool {
		if !mine[i].Created.Equal(mine[j].Created) {
			return mine[i].Created.Before(mine[j].Created)
		}
		return mine[i].ID < mine[j].ID
	})
	return append(out, mine...)
}

// policyNamed is the policy of a type named name (other than except).
func policyNamed(v *view, typ, name, except string) *OrgPolicy {
	for _, p := range policiesOfType(v, typ) {
		if p.Name == name && p.ID != except {
			return p
		}
	}
	return nil
}

// CreateOrgPolicy is Organizations' CreatePolicy: it creates a customer managed SCP or RCP.
func (d *Directory) CreateOrgPolicy(ctx context.Context, c Call, in *orgapi.CreatePolicyRequest) (*orgapi.CreatePolicyResponse, error) {
	typ := *in.Type
	o, err := d.orgCall(c, "organizations:CreatePolicy", "*", append([]string{"organizations:PolicyType", typ}, orgTagConditionKeys(in.Tags)...)...)
	if err != nil {
		return nil, err
	}
	if err := checkPolicyType(o, typ); err != nil {
		return nil, err
	}
	if err := checkOrgPolicy(typ, *in.Content); err != nil {
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
	p := &OrgPolicy{ID: "p-" + suffix, Name: *in.Name, Description: *in.Description, Type: typ, Content: *in.Content, Created: d.now().UTC(), Tags: tags}
	err = d.orgUpdate(ctx, func(t *tx, org *Organization) error {
		o = org
		if policyNamed(t.v, typ, p.Name, "") != nil {
			return orgapi.NewDuplicatePolicyException("A policy with the same name already exists.")
		}
		if len(policiesOfType(t.v, typ))-1 >= maxOrgPolicies {
			return constraintViolation("POLICY_NUMBER_LIMIT_EXCEEDED", "You attempted to exceed the number of policies that you can have in an organization.")
		}
		if t.orgPolicy(p.ID) != nil {
			return errTooManyConflicts // a random id taken: vanishingly rare
		}
		t.put(orgPolicyKey(p.ID), p)
		t.put(orgKey, o) // the policies' names and number
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.CreatePolicyResponse{Policy: apiOrgPolicy(o, p)}, nil
}

// orgPolicyNow is a policy as the view has it now, or nil.
func (d *Directory) orgPolicyNow(id string) *OrgPolicy {
	if p := awsOrgPolicy(id); p != nil {
		return p
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.v.orgs == nil {
		return nil
	}
	return d.v.orgs.policies[id]
}

// policyCall is orgCall for an action on a policy: the policy's ARN and
// type make the request's resource and organizations:PolicyType.
func (d *Directory) policyCall(c Call, action, id string) (*Organization, error) {
	if p := d.orgPolicyNow(id); p != nil {
		return d.orgCall(c, action, d.entityARN(id), "organizations:PolicyType", p.Type)
	}
	return d.orgCall(c, action, d.entityARN(id))
}

// DescribeOrgPolicy is DescribePolicy: it describes a policy, its document included.
func (d *Directory) DescribeOrgPolicy(ctx context.Context, c Call, in *orgapi.DescribePolicyRequest) (*orgapi.DescribePolicyResponse, error) {
	o, err := d.policyCall(c, "organizations:DescribePolicy", *in.PolicyId)
	if err != nil {
		return nil, err
	}
	p := d.orgPolicyNow(*in.PolicyId)
	if p == nil {
		return nil, policyNotFound()
	}
	return &orgapi.DescribePolicyResponse{Policy: apiOrgPolicy(o, p)}, nil
}

// UpdateOrgPolicy is UpdatePolicy: it changes a customer policy's name, description or document.
func (d *Directory) UpdateOrgPolicy(ctx context.Context, c Call, in *orgapi.UpdatePolicyRequest) (*orgapi.UpdatePolicyResponse, error) {
	o, err := d.policyCall(c, "organizations:UpdatePolicy", *in.PolicyId)
	if err != nil {
		return nil, err
	}
	if awsOrgPolicy(*in.PolicyId) != nil {
		return nil, immutablePolicy()
	}
	var out *OrgPolicy
	err = d.orgUpdate(ctx, func(t *tx, org *Organization) error {
		o = org
		cur := t.orgPolicy(*in.PolicyId)
		if cur == nil {
			return policyNotFound()
		}
		p := clone(cur)
		if in.Content != nil {
			if err := checkOrgPolicy(p.Type, *in.Content); err != nil {
				return err
			}
			p.Content = *in.Content
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.Name != nil && *in.Name != p.Name {
			if policyNamed(t.v, p.Type, *in.Name, p.ID) != nil {
				return orgapi.NewDuplicatePolicyException("A policy with the same name already exists.")
			}
			p.Name = *in.Name
			t.put(orgKey, o) // the policies' names
		}
		t.put(orgPolicyKey(p.ID), p)
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.UpdatePolicyResponse{Policy: apiOrgPolicy(o, out)}, nil
}

// DeleteOrgPolicy is DeletePolicy: it deletes a customer policy that no target attaches.
func (d *Directory) DeleteOrgPolicy(ctx context.Context, c Call, in *orgapi.DeletePolicyRequest) (*struct{}, error) {
	if _, err := d.policyCall(c, "organizations:DeletePolicy", *in.PolicyId); err != nil {
		return nil, err
	}
	if awsOrgPolicy(*in.PolicyId) != nil {
		return nil, immutablePolicy()
	}
	err := d.orgUpdate(ctx, func(t *tx, o *Organization) error {
		p := t.orgPolicy(*in.PolicyId)
		if p == nil {
			return policyNotFound()
		}
		// The policy's record guards what attaches it.
		if len(targetsOf(t.v, o, p)) > 0 {
			return orgapi.NewPolicyInUseException("The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
		}
		t.del(orgPolicyKey(p.ID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListOrgPolicies is ListPolicies: it lists the policies of a type.
func (d *Directory) ListOrgPolicies(ctx context.Context, c Call, in *orgapi.ListPoliciesRequest) (*orgapi.ListPoliciesResponse, error) {
	o, err := d.orgCall(c, "organizations:ListPolicies", "*", "organizations:PolicyType", *in.Filter)
	if err != nil {
		return nil, err
	}
	var out []orgapi.PolicySummary
	d.mu.RLock()
	if o.FeatureSet == "ALL" {
		for _, p := range policiesOfType(d.v, *in.Filter) {
			out = append(out, *apiPolicySummary(o, p))
		}
	}
	d.mu.RUnlock()
	page, next, err := orgPage(out, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListPoliciesResponse{Policies: page, NextToken: next}, nil
}

// target is a root, OU or account that policies attach to.
type target struct {
	id, name, kind string // kind: ROOT, ORGANIZATIONAL_UNIT, ACCOUNT
	attached       attachments
}

// targets lists every root, OU and account of the organization.
func targets(v *view, o *Organization) []target {
	root := rootOf(o)
	out := []target{{id: root.ID, name: "Root", kind: "ROOT", attached: root.Attached}}
	if v.orgs != nil {
		ous := make([]*OrgUnit, 0, len(v.orgs.ous))
		for _, ou := range v.orgs.ous {
			ous = append(ous, ou)
		}
		sort.Slice(ous, func(i, j int) bool { return ous[i].ID < ous[j].ID })
		for _, ou := range ous {
			out = append(out, target{id: ou.ID, name: ou.Name, kind: "ORGANIZATIONAL_UNIT", attached: ou.Attached})
		}
	}
	ids := make([]string, 0, len(v.accounts))
	for id := range v.accounts {
		if inOrg(v, o, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, target{id: id, name: v.accounts[id].Name, kind: "ACCOUNT", attached: memberOf(v, o, id).Attached})
	}
	return out
}

// targetsOf lists the targets that attach a policy now.
func targetsOf(v *view, o *Organization, p *OrgPolicy) []target {
	root := rootOf(o)
	var out []target
	for _, t := range targets(v, o) {
		if slices.Contains(root.effective(t.attached, p.Type), p.ID) {
			out = append(out, t)
		}
	}
	return out
}

func targetARN(o *Organization, t target) string {
	switch t.kind {
	case "ROOT":
		return rootARN(o, t.id)
	case "ORGANIZATIONAL_UNIT":
		return ouARN(o, t.id)
	}
	return orgAccountARN(o, t.id)
}

// attachTarget is a target a transaction changes the attachments of.
type attachTarget struct {
	o    *Organization // the organization as read
	root OrgRoot
	ou   *OrgUnit
	m    *orgMember
}

// attachTargetFor reads a target by id, or reports nil.
func (t *tx) attachTargetFor(o *Organization, id string) (*attachTarget, bool) {
	at := &attachTarget{o: o, root: rootOf(o)}
	switch {
	case id == at.root.ID:
	case strings.HasPrefix(id, "ou-"):
		if at.ou = t.ou(id); at.ou == nil {
			return nil, false
		}
	case strings.HasPrefix(id, "r-"):
		return nil, false
	default:
		if at.m = t.member(o, id); at.m == nil {
			return nil, false
		}
	}
	return at, true
}

func (a *attachTarget) attached() attachments {
	switch {
	case a.ou != nil:
		return a.ou.Attached
	case a.m != nil:
		return a.m.Attached
	}
	return a.root.Attached
}

// set writes the target with typ's policies set to ids.
func (a *attachTarget) set(t *tx, typ string, ids []string) {
	att := a.root.with(a.attached(), typ, ids)
	switch {
	case a.ou != nil:
		ou := clone(a.ou)
		ou.Attached = att
		t.put(ouKey(ou.ID), ou)
	case a.m != nil:
		m := clone(a.m)
		m.Attached = att
		t.put(orgMemberKey(m.Account), m)
	default:
		o := clone(a.o)
		r := a.root
		r.Attached = att
		o.Root = &r
		t.put(orgKey, o)
	}
}

// targetCall authorizes an action on a policy and on a target.
func (d *Directory) targetCall(c Call, action, policyID, targetID string) error {
	if _, err := d.policyCall(c, action, policyID); err != nil {
		return err
	}
	_, err := d.orgCall(c, action, d.entityARN(targetID))
	return err
}

// attachment reads what AttachPolicy and DetachPolicy change: the policy,
// the target, and the policies of the policy's type attached there, with
// their errors when either is missing or the type is not enabled.
func (t *tx) attachment(o *Organization, policyID, targetID string) (*OrgPolicy, *attachTarget, []string, error) {
	p := t.orgPolicy(policyID)
	if p == nil {
		return nil, nil, nil, policyNotFound()
	}
	at, ok := t.attachTargetFor(o, targetID)
	if !ok {
		return nil, nil, nil, targetNotFound()
	}
	if _, enabled := at.root.Types[p.Type]; !enabled {
		return nil, nil, nil, policyTypeNotEnabled()
	}
	return p, at, at.root.effective(at.attached(), p.Type), nil
}

// AttachPolicy attaches a policy to a root, OU or account.
func (d *Directory) AttachPolicy(ctx context.Context, c Call, in *orgapi.AttachPolicyRequest) (*struct{}, error) {
	if err := d.targetCall(c, "organizations:AttachPolicy", *in.PolicyId, *in.TargetId); err != nil {
		return nil, err
	}
	err := d.orgUpdate(ctx, func(t *tx, o *Organization) error {
		p, at, cur, err := t.attachment(o, *in.PolicyId, *in.TargetId)
		if err != nil {
			return err
		}
		if slices.Contains(cur, p.ID) {
			return orgapi.NewDuplicatePolicyAttachmentException("The selected policy is already attached to the specified target.")
		}
		if len(cur) >= maxPoliciesOfTarget {
			return constraintViolation("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You have attached the maximum number of policies to the specified target.")
		}
		at.set(t, p.Type, append(slices.Clone(cur), p.ID))
		if awsOrgPolicy(p.ID) == nil {
			t.put(orgPolicyKey(p.ID), p) // the guard of what attaches it
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// DetachPolicy detaches a policy from a root, OU or account. Every target
// keeps at least one SCP while SCPs are enabled, and RCPFullAWSAccess
// cannot be detached (RCP syntax).
func (d *Directory) DetachPolicy(ctx context.Context, c Call, in *orgapi.DetachPolicyRequest) (*struct{}, error) {
	if err := d.targetCall(c, "organizations:DetachPolicy", *in.PolicyId, *in.TargetId); err != nil {
		return nil, err
	}
	err := d.orgUpdate(ctx, func(t *tx, o *Organization) error {
		p, at, cur, err := t.attachment(o, *in.PolicyId, *in.TargetId)
		if err != nil {
			return err
		}
		i := slices.Index(cur, p.ID)
		if i < 0 {
			return orgapi.NewPolicyNotAttachedException("The policy isn't attached to the specified target in the specified root.")
		}
		if p.ID == rcpFullAWSAccessID {
			return invalidInput("NON_DETACHABLE_POLICY", "You can't detach this Amazon Web Services Managed Policy.")
		}
		if p.Type == scpType && len(cur) == 1 {
			return constraintViolation("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You attempted to detach a policy from an entity that would cause the entity to have fewer than the minimum number of policies of a certain type required.")
		}
		at.set(t, p.Type, slices.Delete(slices.Clone(cur), i, i+1))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListPoliciesForTarget lists the policies of a type attached directly to
// a root, OU or account.
func (d *Directory) ListPoliciesForTarget(ctx context.Context, c Call, in *orgapi.ListPoliciesForTargetRequest) (*orgapi.ListPoliciesForTargetResponse, error) {
	o, err := d.orgCall(c, "organizations:ListPoliciesForTarget", d.entityARN(*in.TargetId), "organizations:PolicyType", *in.Filter)
	if err != nil {
		return nil, err
	}
	d.mu.RLock()
	var out []orgapi.PolicySummary
	found := false
	for _, t := range targets(d.v, o) {
		if t.id != *in.TargetId {
			continue
		}
		found = true
		root := rootOf(o)
		for _, id := range root.effective(t.attached, *in.Filter) {
			p := awsOrgPolicy(id)
			if p == nil && d.v.orgs != nil {
				p = d.v.orgs.policies[id]
			}
			if p != nil {
				out = append(out, *apiPolicySummary(o, p))
			}
		}
	}
	d.mu.RUnlock()
	if !found {
		return nil, targetNotFound()
	}
	page, next, err := orgPage(out, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListPoliciesForTargetResponse{Policies: page, NextToken: next}, nil
}

// ListTargetsForPolicy lists the roots, OUs and accounts a policy is
// attached to.
func (d *Directory) ListTargetsForPolicy(ctx context.Context, c Call, in *orgapi.ListTargetsForPolicyRequest) (*orgapi.ListTargetsForPolicyResponse, error) {
	o, err := d.policyCall(c, "organizations:ListTargetsForPolicy", *in.PolicyId)
	if err != nil {
		return nil, err
	}
	p := d.orgPolicyNow(*in.PolicyId)
	if p == nil {
		return nil, policyNotFound()
	}
	var out []orgapi.PolicyTargetSummary
	d.mu.RLock()
	for _, t := range targetsOf(d.v, o, p) {
		out = append(out, orgapi.PolicyTargetSummary{TargetId: wire.Ptr(t.id), Arn: wire.Ptr(targetARN(o, t)), Name: wire.Ptr(t.name), Type: wire.Ptr(t.kind)})
	}
	d.mu.RUnlock()
	page, next, err := orgPage(out, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListTargetsForPolicyResponse{Targets: page, NextToken: next}, nil
}

// EnablePolicyType enables a policy type in the root: every root, OU and
// account then has the type's default policy attached (FullAWSAccess,
// RCPFullAWSAccess).
func (d *Directory) EnablePolicyType(ctx context.Context, c Call, in *orgapi.EnablePolicyTypeRequest) (*orgapi.EnablePolicyTypeResponse, error) {
	return d.setPolicyType(ctx, c, "organizations:EnablePolicyType", *in.RootId, *in.PolicyType, true)
}

// DisablePolicyType disables a policy type in the root, detaching every
// policy of the type from every entity.
func (d *Directory) DisablePolicyType(ctx context.Context, c Call, in *orgapi.DisablePolicyTypeRequest) (*orgapi.DisablePolicyTypeResponse, error) {
	out, err := d.setPolicyType(ctx, c, "organizations:DisablePolicyType", *in.RootId, *in.PolicyType, false)
	if err != nil {
		return nil, err
	}
	return &orgapi.DisablePolicyTypeResponse{Root: out.Root}, nil
}

func (d *Directory) setPolicyType(ctx context.Context, c Call, action, rootID, typ string, enable bool) (*orgapi.EnablePolicyTypeResponse, error) {
	o, err := d.orgCall(c, action, d.entityARN(rootID), "organizations:PolicyType", typ)
	if err != nil {
		return nil, err
	}
	var out orgapi.Root
	err = d.orgUpdate(ctx, func(t *tx, org *Organization) error {
		o = org
		root := rootOf(o)
		if rootID != root.ID {
			return orgapi.NewRootNotFoundException("We can't find a root with the RootId that you specified.")
		}
		if err := checkPolicyType(o, typ); err != nil {
			return err
		}
		_, enabled := root.Types[typ]
		switch {
		case enable && enabled:
			return orgapi.NewPolicyTypeAlreadyEnabledException("The specified policy type is already enabled in the specified root.")
		case !enable && !enabled:
			return policyTypeNotEnabled()
		}
		types := map[string]int64{}
		for k, v := range root.Types {
			types[k] = v
		}
		if enable {
			root.Stamp++
			types[typ] = root.Stamp
		} else {
			delete(types, typ)
		}
		root.Types = types
		cur := clone(o)
		cur.Root = &root
		t.put(orgKey, cur)
		out = apiRoot(cur, root)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &orgapi.EnablePolicyTypeResponse{Root: &out}, nil
}
