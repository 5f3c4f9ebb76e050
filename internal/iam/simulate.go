package iam

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// The IAM policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy,
// GetContextKeysForPrincipalPolicy, GetContextKeysForCustomPolicy): a
// request answered by the authorizer that decides live requests
// (authz.IdentityBased, and authz.DecideResource when a resource-based
// policy such as a key policy is given), on the policies, organization
// guardrails and context the simulation names. What a live KMS request has
// beyond them — grants, session policies, VPC endpoint policies, resource
// control policies, principals bound to unique ids — no simulation input
// expresses, as in AWS.
//
// Results follow IAM's current shape: one EvaluationResult per action, its
// decision the most restrictive over the resources, with a
// ResourceSpecificResult for each resource the request names.

// simSource is one policy of a simulation and how results name it.
type simSource struct {
	id, typ string // SourcePolicyId, SourcePolicyType
	doc     string
	p       *policy.Policy
}

// simulation is what a simulation decides with.
type simulation struct {
	caller   *authz.Identity // with the simulated policies, boundary and SCPs
	identity []simSource     // parallel to caller.Policies
	boundary *simSource
	resource *simSource
	owner    string // the resources' account when their ARN names none
	keys     policy.Keys
	provided map[string]bool // lower-case names of the context entries
}

func simInvalid(msg string) error { return iamapi.NewInvalidInputException(msg) }

// refuseResourceHandling refuses ResourceHandlingOption rather than ignoring
// it: its scenarios (EC2-VPC-InstanceStore, EC2-VPC-EBS, …) say which EC2
// resources a simulation of ec2:RunInstances takes, and Trent has no EC2, so
// no answer it gave with one would be the one AWS gives.
func refuseResourceHandling(opt *string) error {
	if opt == nil {
		return nil
	}
	return simInvalid("ResourceHandlingOption " + *opt + " is not supported: its scenarios are EC2's, and this Trent server simulates no EC2 actions.")
}

// compileSim compiles a policy given to a simulation, refusing it as IAM
// refuses an invalid one.
func compileSim(doc string, kind policy.Kind, id, typ string) (simSource, error) {
	p, err := policy.Compile([]byte(doc), policy.Options{Kind: kind, KnownKey: authz.KnownConditionKey})
	if err != nil {
		var ve *policy.ValidationError
		msg := "Syntax errors in policy."
		if errors.As(err, &ve) {
			msg = ve.Findings[0].Message
		}
		return simSource{}, iamapi.NewMalformedPolicyDocumentException(msg)
	}
	return simSource{id: id, typ: typ, doc: doc, p: p}, nil
}

// contextKeys makes the simulation's request context of its entries.
func contextKeys(entries []iamapi.ContextEntry) (policy.Keys, map[string]bool, error) {
	keys, provided := policy.Keys{}, map[string]bool{}
	for _, e := range entries {
		name := wire.String(e.ContextKeyName)
		if !strings.Contains(name, ":") {
			return nil, nil, simInvalid("Context key name " + name + " is not valid: it must have a service prefix.")
		}
		typ := wire.String(e.ContextKeyType)
		switch {
		case strings.HasSuffix(typ, "List"):
			keys.Add(name, e.ContextKeyValues...)
		case len(e.ContextKeyValues) != 1:
			return nil, nil, simInvalid("Context key " + name + " of type " + typ + " takes one value.")
		default:
			// A single-valued key given twice (names that differ only in
			// case: an encryption context's Dept and dept) is ambiguous,
			// as in a live request.
			keys.SetOne(name, e.ContextKeyValues[0])
		}
		provided[strings.ToLower(name)] = true
	}
	return keys, provided, nil
}

// simulatedCaller is the principal a simulation calls as: an IAM user or
// role (as a session of the role), a group (as a user-like principal), or
// an account's root; account is the requester's, for a simulation that
// names no caller.
func (d *Directory) simulatedCaller(callerARN, account string) (*authz.Identity, error) {
	if callerARN == "" {
		return &authz.Identity{Principal: authz.Principal{Account: account, ARN: UserARN(account, "/", "PolicySimulator"), Type: authz.UserType, Name: "PolicySimulator"}}, nil
	}
	a, err := arn.Parse(callerARN)
	if err != nil || a.Service != "iam" || !arn.IsAccountID(a.Account) {
		return nil, simInvalid("Invalid CallerArn " + callerARN + ": it must be the ARN of an IAM user, group or role, or of an account root.")
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	id := &authz.Identity{Principal: authz.Principal{Account: a.Account, ARN: callerARN}}
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch {
	case a.Resource == "root":
		id.Type, id.UserID = authz.RootType, a.Account
	case strings.HasPrefix(a.Resource, "user/"), strings.HasPrefix(a.Resource, "group/"):
		id.Type, id.Name = authz.UserType, name
		if u := d.v.users[entityIndex(a.Account, name)]; u != nil && strings.HasPrefix(a.Resource, "user/") {
			id.UserID = u.ID
		}
	case strings.HasPrefix(a.Resource, "role/"):
		id.Type, id.Name, id.RoleARN, id.Temporary = authz.AssumedRoleType, name, callerARN, true
		id.ARN = "arn:aws:sts::" + a.Account + ":assumed-role/" + name + "/" + name
		if r := d.v.roles[entityIndex(a.Account, name)]; r != nil {
			id.UserID = r.ID + ":" + name
		}
	default:
		return nil, simInvalid("Invalid CallerArn " + callerARN + ": it must be the ARN of an IAM user, group or role, or of an account root.")
	}
	return id, nil
}

// SimulateCustomPolicy simulates requests under policies given as strings.
func (d *Directory) SimulateCustomPolicy(ctx context.Context, c Call, in *iamapi.SimulateCustomPolicyRequest) (*iamapi.SimulatePolicyResponse, error) {
	if err := d.authorize(c, "iam:SimulateCustomPolicy", "*"); err != nil {
		return nil, err
	}
	if err := refuseResourceHandling(in.ResourceHandlingOption); err != nil {
		return nil, err
	}
	for _, a := range in.ActionNames {
		if strings.ContainsAny(a, "*?") {
			return nil, simInvalid("Actions or resources must not contain wildcards: " + a)
		}
	}
	caller, err := d.simulatedCaller(wire.String(in.CallerArn), c.Identity.Account)
	if err != nil {
		return nil, err
	}
	s := &simulation{caller: caller, owner: caller.Account}
	for i, doc := range in.PolicyInputList {
		src, err := compileSim(doc, policy.IdentityKind, "PolicyInputList."+strconv.Itoa(i+1), "none")
		if err != nil {
			return nil, err
		}
		s.identity = append(s.identity, src)
		caller.Policies = append(caller.Policies, src.p)
	}
	if err := s.setBoundary(in.PermissionsBoundaryPolicyInputList, nil); err != nil {
		return nil, err
	}
	for i, level := range in.OrderedOrganizationPolicyInputList {
		g := authz.Guardrail{Target: "OrderedOrganizationPolicyInputList." + strconv.Itoa(i+1)}
		for j, doc := range level.ServiceControlPolicyInputList {
			src, err := compileSim(doc, policy.IdentityKind, g.Target+".ServiceControlPolicyInputList."+strconv.Itoa(j+1), "none")
			if err != nil {
				return nil, err
			}
			g.Policies, g.IDs = append(g.Policies, src.p), append(g.IDs, src.id)
		}
		caller.SCPs = append(caller.SCPs, g)
	}
	if err := s.setResource(in.ResourcePolicy, in.ResourceOwner, in.CallerArn); err != nil {
		return nil, err
	}
	if s.keys, s.provided, err = contextKeys(in.ContextEntries); err != nil {
		return nil, err
	}
	return s.run(c, in.ActionNames, in.ResourceArns, in.MaxItems, in.Marker)
}

// setBoundary takes the boundary given (at most one), else the entity's.
func (s *simulation) setBoundary(given []string, entity *simSource) error {
	switch {
	case len(given) > 1:
		return simInvalid("You can specify only one permissions boundary policy.")
	case len(given) == 1:
		src, err := compileSim(given[0], policy.IdentityKind, "PermissionsBoundaryPolicyInputList.1", "none")
		if err != nil {
			return err
		}
		entity = &src
	}
	if entity != nil {
		s.boundary = entity
		s.caller.Boundary = entity.p
	}
	return nil
}

// setResource takes the resource-based policy given, which needs a caller
// for its Principal elements, and the resources' owner.
func (s *simulation) setResource(doc, owner, callerARN *string) error {
	if owner != nil {
		o := *owner
		if a, err := arn.Parse(o); err == nil {
			o = a.Account // "arn:aws:iam::112233445566:root"
		}
		if !arn.IsAccountID(o) {
			return simInvalid("ResourceOwner " + *owner + " is not an account id or an account root ARN.")
		}
		s.owner = o
	}
	if doc == nil {
		return nil
	}
	if callerARN == nil {
		return simInvalid("A CallerArn is required to simulate a resource-based policy: its Principal elements need a caller.")
	}
	src, err := compileSim(*doc, policy.ResourceKind, "ResourcePolicy", "resource")
	if err != nil {
		return err
	}
	s.resource = &src
	return nil
}

// decisions, from least to most restrictive.
const (
	simAllowed      = "allowed"
	simImplicitDeny = "implicitDeny"
	simExplicitDeny = "explicitDeny"
)

func rank(d string) int {
	switch d {
	case simExplicitDeny:
		return 2
	case simImplicitDeny:
		return 1
	}
	return 0
}

func verdict(d authz.Decision) string {
	switch {
	case d.Allowed():
		return simAllowed
	case d.Reason.Explicit():
		return simExplicitDeny
	}
	return simImplicitDeny
}

func outcomeVerdict(o policy.Outcome) string {
	switch o.Decision {
	case policy.Allow:
		return simAllowed
	case policy.ExplicitDeny:
		return simExplicitDeny
	}
	return simImplicitDeny
}

// resourceResult is the simulation of one action on one resource.
type resourceResult struct {
	decision string
	matched  []iamapi.Statement
	missing  []string
	orgs     *bool
	boundary *bool
	details  map[string]string
}

// decide simulates one action on one resource.
func (s *simulation) decide(action, resource string, now policy.Request) resourceResult {
	req := now
	req.Principal, req.Action, req.Resource, req.Keys = s.caller.PolicyPrincipal(), action, resource, s.keys
	var d authz.Decision
	var resOut policy.Outcome
	owner := s.owner
	if a, err := arn.Parse(resource); err == nil && a.Account != "" {
		owner = a.Account
	}
	if s.resource != nil {
		resOut = s.resource.p.Decide(&req)
		d = authz.DecideResource(s.caller, &req, owner, resOut, nil).Decision
	} else {
		d = authz.IdentityBased(s.caller, &req)
	}
	r := resourceResult{decision: verdict(d)}
	// The statements that decided: the deny that denied, or the allows.
	effect := policy.AllowEffect
	if r.decision == simExplicitDeny {
		effect = policy.DenyEffect
	}
	sources := slices.Clone(s.identity)
	if s.boundary != nil {
		sources = append(sources, *s.boundary)
	}
	if s.resource != nil {
		sources = append(sources, *s.resource)
	}
	seen := map[string]bool{}
	for i, src := range sources {
		boundary := s.boundary != nil && i == len(s.identity)
		ex := src.p.Explain(&req)
		var pos []simSpan
		for _, t := range ex.Statements {
			if t.Applied && t.Effect == effect && r.decision != simImplicitDeny && (!boundary || effect == policy.DenyEffect) {
				if pos == nil {
					pos = statementPositions(src.doc)
				}
				st := iamapi.Statement{SourcePolicyId: wire.Ptr(src.id), SourcePolicyType: wire.Ptr(src.typ)}
				if t.Statement < len(pos) {
					st.StartPosition, st.EndPosition = pos[t.Statement].start.api(), pos[t.Statement].end.api()
				}
				r.matched = append(r.matched, st)
			}
			// Keys a statement that concerns the request reads, and the
			// simulation does not give.
			if relevant(t) {
				for _, k := range src.p.StatementContextKeys(t.Statement) {
					l := strings.ToLower(k)
					if !s.provided[l] && l != "aws:currenttime" && l != "aws:epochtime" && !seen[l] {
						seen[l] = true
						r.missing = append(r.missing, k)
					}
				}
			}
		}
	}
	if len(s.caller.SCPs) > 0 {
		allowed := true
		for _, l := range s.caller.SCPs {
			if out, _ := policy.DecideAll(l.Policies, &req); out.Decision != policy.Allow {
				allowed = false
			}
		}
		r.orgs = &allowed
	}
	if s.boundary != nil {
		allowed := s.boundary.p.Decide(&req).Decision == policy.Allow
		r.boundary = &allowed
	}
	if resource != "*" {
		r.details = map[string]string{}
		if s.resource != nil && owner != s.caller.Account {
			// A cross-account request: each side's say.
			idOut, _ := policy.DecideAll(s.caller.Policies, &req)
			r.details["IAM Policy"] = outcomeVerdict(idOut)
			r.details["Resource Policy"] = outcomeVerdict(resOut)
			if s.boundary != nil {
				r.details["Permissions Boundary Policy"] = outcomeVerdict(s.boundary.p.Decide(&req))
			}
		}
	}
	return r
}

// relevant: the statement's Principal, Action and Resource cover the
// request, so its conditions decide whether it applies.
func relevant(t policy.Trace) bool {
	for _, m := range t.Misses {
		if m.Element != policy.ElementCondition {
			return false
		}
	}
	return true
}

// run simulates every action on every resource.
func (s *simulation) run(c Call, actions, resources []string, maxItems *int32, marker *string) (*iamapi.SimulatePolicyResponse, error) {
	named := len(resources) > 0
	if !named {
		resources = []string{"*"}
	}
	base := policy.Request{Time: c.Request.Time}
	var results []iamapi.EvaluationResult
	for _, action := range actions {
		out := iamapi.EvaluationResult{EvalActionName: wire.Ptr(action), EvalResourceName: wire.Ptr(resourceTemplate(resources)), EvalDecision: wire.Ptr(simAllowed)}
		var details map[string]string
		for _, res := range resources {
			r := s.decide(action, res, base)
			if rank(r.decision) > rank(*out.EvalDecision) {
				out.EvalDecision = wire.Ptr(r.decision)
			}
			out.MatchedStatements = append(out.MatchedStatements, r.matched...)
			for _, k := range r.missing {
				if !slices.Contains(out.MissingContextValues, k) {
					out.MissingContextValues = append(out.MissingContextValues, k)
				}
			}
			if r.orgs != nil {
				if out.OrganizationsDecisionDetail == nil || !*r.orgs {
					out.OrganizationsDecisionDetail = &iamapi.OrganizationsDecisionDetail{AllowedByOrganizations: r.orgs}
				}
			}
			if r.boundary != nil {
				if out.PermissionsBoundaryDecisionDetail == nil || !*r.boundary {
					out.PermissionsBoundaryDecisionDetail = &iamapi.PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: r.boundary}
				}
			}
			if r.details != nil {
				if details == nil {
					details = map[string]string{}
				}
				for k, v := range r.details {
					if rank(v) >= rank(details[k]) {
						details[k] = v
					}
				}
			}
			if named {
				rr := iamapi.ResourceSpecificResult{EvalResourceName: wire.Ptr(res), EvalResourceDecision: wire.Ptr(r.decision),
					MatchedStatements: nonNil(r.matched), MissingContextValues: nonNil(r.missing), EvalDecisionDetails: r.details}
				if r.boundary != nil {
					rr.PermissionsBoundaryDecisionDetail = &iamapi.PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: r.boundary}
				}
				out.ResourceSpecificResults = append(out.ResourceSpecificResults, rr)
			}
		}
		out.MatchedStatements, out.MissingContextValues = nonNil(out.MatchedStatements), nonNil(out.MissingContextValues)
		out.EvalDecisionDetails = details
		results = append(results, out)
	}
	page, truncated, next, err := pageOf(results, marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.SimulatePolicyResponse{EvaluationResults: nonNil(page), IsTruncated: truncated, Marker: next}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// resourceTemplate is an EvaluationResult's EvalResourceName: the ARN
// format of the resources' type (KMS keys and aliases, IAM users and
// roles), or "*".
func resourceTemplate(resources []string) string {
	kind := ""
	for _, r := range resources {
		k := "*"
		if a, err := arn.Parse(r); err == nil {
			switch {
			case a.Service == "kms" && strings.HasPrefix(a.Resource, "key/"):
				k = "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}"
			case a.Service == "kms" && strings.HasPrefix(a.Resource, "alias/"):
				k = "arn:${Partition}:kms:${Region}:${Account}:alias/${Alias}"
			case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
				k = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"
			case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
				k = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
			}
		}
		if kind != "" && kind != k {
			return "*"
		}
		kind = k
	}
	return kind
}

// simPosition is a place in a policy document: line and column, from 1.
type simPosition struct{ line, col int32 }

// simSpan is where a statement begins and ends.
type simSpan struct{ start, end simPosition }

func (p simPosition) api() *iamapi.Position {
	return &iamapi.Position{Line: wire.Ptr(p.line), Column: wire.Ptr(p.col)}
}

// statementPositions finds where each statement of a document begins (its
// "{") and ends (its "}"), in document order; nil if it cannot tell.
func statementPositions(doc string) []simSpan {
	at := func(off int) simPosition {
		line := int32(1 + strings.Count(doc[:off], "\n"))
		col := int32(off - strings.LastIndexByte(doc[:off], '\n'))
		return simPosition{line, col}
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []simSpan
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		if t != "Statement" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		off := int(dec.InputOffset())
		rest := strings.TrimLeft(doc[off:], " \t\r\n:")
		start := len(doc) - len(rest)
		if strings.HasPrefix(rest, "{") {
			var one json.RawMessage
			if dec.Decode(&one) != nil {
				return nil
			}
			return append(out, simSpan{at(start), at(int(dec.InputOffset()) - 1)})
		}
		if _, err := dec.Token(); err != nil { // [
			return nil
		}
		for dec.More() {
			off := int(dec.InputOffset())
			rest := strings.TrimLeft(doc[off:], " \t\r\n,")
			begin := len(doc) - len(rest)
			var st json.RawMessage
			if dec.Decode(&st) != nil {
				return nil
			}
			out = append(out, simSpan{at(begin), at(int(dec.InputOffset()) - 1)})
		}
		return out
	}
	return out
}

// SimulatePrincipalPolicy simulates requests under the policies of an IAM
// user (its groups' included), group or role, with more given as strings.
func (d *Directory) SimulatePrincipalPolicy(ctx context.Context, c Call, in *iamapi.SimulatePrincipalPolicyRequest) (*iamapi.SimulatePolicyResponse, error) {
	src := *in.PolicySourceArn
	if err := d.authorize(c, "iam:SimulatePrincipalPolicy", src); err != nil {
		return nil, err
	}
	if err := refuseResourceHandling(in.ResourceHandlingOption); err != nil {
		return nil, err
	}
	ent, err := d.policiesOfEntity(src)
	if err != nil {
		return nil, err
	}
	callerARN := wire.String(in.CallerArn)
	if callerARN == "" && !strings.Contains(src, ":group/") {
		callerARN = src
	}
	if in.ResourcePolicy != nil && callerARN == "" {
		return nil, simInvalid("A CallerArn is required to simulate a resource-based policy with the policies of a group.")
	}
	caller, err := d.simulatedCaller(callerARN, ent.account)
	if err != nil {
		return nil, err
	}
	s := &simulation{caller: caller, owner: caller.Account}
	for _, p := range ent.identity {
		if excluded(in.PolicyExclusionList, p, ent.kind, ent.name) {
			continue
		}
		s.identity = append(s.identity, p)
		caller.Policies = append(caller.Policies, p.p)
	}
	for i, doc := range in.PolicyInputList {
		p, err := compileSim(doc, policy.IdentityKind, "PolicyInputList."+strconv.Itoa(i+1), "none")
		if err != nil {
			return nil, err
		}
		s.identity = append(s.identity, p)
		caller.Policies = append(caller.Policies, p.p)
	}
	boundary := ent.boundary
	if boundary != nil && excludedType(in.PolicyExclusionList, "permission-boundary") {
		boundary = nil
	}
	if err := s.setBoundary(in.PermissionsBoundaryPolicyInputList, boundary); err != nil {
		return nil, err
	}
	if !excludedType(in.PolicyExclusionList, "scp") {
		caller.SCPs = ent.scps
	}
	if err := s.setResource(in.ResourcePolicy, in.ResourceOwner, wire.Ptr(callerARN)); err != nil {
		return nil, err
	}
	if s.keys, s.provided, err = contextKeys(in.ContextEntries); err != nil {
		return nil, err
	}
	return s.run(c, in.ActionNames, in.ResourceArns, in.MaxItems, in.Marker)
}

// entityPolicies are the policies of an IAM user, group or role.
type entityPolicies struct {
	account, kind, name string // kind: user, group, role
	identity            []simSource
	boundary            *simSource
	scps                []authz.Guardrail
}

// policiesOfEntity gathers the policies of the user, group or role an ARN
// names: inline and attached, a user's groups' too, its boundary, and the
// SCPs of its account (none for a service-linked role).
func (d *Directory) policiesOfEntity(entityARN string) (*entityPolicies, error) {
	a, err := arn.Parse(entityARN)
	if err != nil || a.Service != "iam" {
		return nil, simInvalid("Invalid PolicySourceArn " + entityARN + ".")
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	kind, _, _ := strings.Cut(a.Resource, "/")
	out := &entityPolicies{account: a.Account, kind: kind, name: name}
	d.mu.RLock()
	defer d.mu.RUnlock()
	add := func(typ string, inline map[string]string, attached []string) {
		names := make([]string, 0, len(inline))
		for n := range inline {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if p := d.compile(inline[n]); p != nil {
				out.identity = append(out.identity, simSource{id: n, typ: typ, doc: inline[n], p: p})
			}
		}
		for _, pa := range attached {
			if s := d.managedSource(a.Account, pa); s != nil {
				out.identity = append(out.identity, *s)
			}
		}
	}
	var boundaryARN string
	switch kind {
	case "user":
		u := d.v.users[entityIndex(a.Account, name)]
		if u == nil || UserARN(a.Account, u.Path, u.Name) != entityARN {
			return nil, iamapi.NewNoSuchEntityException("The user with name " + name + " cannot be found.")
		}
		add("user", u.Inline, u.Attached)
		for _, g := range u.Groups {
			if gr := d.v.groups[entityIndex(a.Account, g)]; gr != nil {
				add("group", gr.Inline, gr.Attached)
			}
		}
		boundaryARN = u.Boundary
	case "group":
		g := d.v.groups[entityIndex(a.Account, name)]
		if g == nil || GroupARN(a.Account, g.Path, g.Name) != entityARN {
			return nil, iamapi.NewNoSuchEntityException("The group with name " + name + " cannot be found.")
		}
		add("group", g.Inline, g.Attached)
	case "role":
		r := d.v.roles[entityIndex(a.Account, name)]
		if r == nil || RoleARN(a.Account, r.Path, r.Name) != entityARN {
			return nil, iamapi.NewNoSuchEntityException("The role with name " + name + " cannot be found.")
		}
		add("role", r.Inline, r.Attached)
		boundaryARN = r.Boundary
		if r.ServiceName != "" {
			return out, nil // SCPs do not limit service-linked roles
		}
	default:
		return nil, simInvalid("Invalid PolicySourceArn " + entityARN + ": it must be the ARN of an IAM user, group or role.")
	}
	if boundaryARN != "" {
		if s := d.managedSource(a.Account, boundaryARN); s != nil {
			out.boundary = s
		} else {
			out.boundary = &simSource{id: boundaryARN, typ: "none", p: allowNothing}
		}
	}
	if s := d.orgScope(a.Account); s != nil {
		out.scps = s.SCPs
	}
	return out, nil
}

// managedSource is a managed policy an entity attaches, as a source of a
// simulation; d.mu is held.
func (d *Directory) managedSource(account, policyARN string) *simSource {
	if m := awsManaged(policyARN); m != nil {
		return &simSource{id: policyARN, typ: "aws-managed", doc: m.Document, p: d.compile(m.Document)}
	}
	name, ok := customerPolicyName(account, policyARN)
	if !ok {
		return nil
	}
	mp := d.v.policies[entityIndex(account, name)]
	if mp == nil || PolicyARN(account, mp.Path, mp.Name) != policyARN {
		return nil
	}
	doc := mp.Default()
	if p := d.compile(doc); p != nil {
		return &simSource{id: policyARN, typ: "user-managed", doc: doc, p: p}
	}
	return nil
}

// excluded reports whether an exclusion list names a policy of an entity.
func excluded(list []iamapi.PolicyIdentifier, p simSource, kind, name string) bool {
	for _, e := range list {
		switch t := wire.String(e.PolicyType); {
		case e.PolicyArn != nil && *e.PolicyArn == p.id && (t == "" || t == p.typ):
			return true
		case e.InlinePolicyIdentifier != nil && e.InlinePolicyIdentifier.PolicyName != nil && *e.InlinePolicyIdentifier.PolicyName == p.id &&
			wire.String(e.InlinePolicyIdentifier.AttachmentType) == p.typ &&
			(p.typ != kind || strings.EqualFold(wire.String(e.InlinePolicyIdentifier.AttachmentName), name)):
			return true
		case e.PolicyArn == nil && e.InlinePolicyIdentifier == nil && t != "" && (t == p.typ || t == "inline" && (p.typ == "user" || p.typ == "group" || p.typ == "role")):
			return true
		}
	}
	return false
}

func excludedType(list []iamapi.PolicyIdentifier, typ string) bool {
	for _, e := range list {
		if wire.String(e.PolicyType) == typ && e.PolicyArn == nil && e.InlinePolicyIdentifier == nil {
			return true
		}
	}
	return false
}

// GetContextKeysForCustomPolicy lists the context keys policies given as
// strings read.
func (d *Directory) GetContextKeysForCustomPolicy(ctx context.Context, c Call, in *iamapi.GetContextKeysForCustomPolicyRequest) (*iamapi.GetContextKeysForPolicyResponse, error) {
	if err := d.authorize(c, "iam:GetContextKeysForCustomPolicy", "*"); err != nil {
		return nil, err
	}
	var srcs []simSource
	for i, doc := range in.PolicyInputList {
		s, err := compileSim(doc, policy.AnyKind, "PolicyInputList."+strconv.Itoa(i+1), "none")
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s)
	}
	return &iamapi.GetContextKeysForPolicyResponse{ContextKeyNames: contextKeysOf(srcs)}, nil
}

// GetContextKeysForPrincipalPolicy lists the context keys the policies of
// an IAM user (its groups' included), group or role read, and those of
// policies given as strings; not the SCPs'.
func (d *Directory) GetContextKeysForPrincipalPolicy(ctx context.Context, c Call, in *iamapi.GetContextKeysForPrincipalPolicyRequest) (*iamapi.GetContextKeysForPolicyResponse, error) {
	if err := d.authorize(c, "iam:GetContextKeysForPrincipalPolicy", *in.PolicySourceArn); err != nil {
		return nil, err
	}
	ent, err := d.policiesOfEntity(*in.PolicySourceArn)
	if err != nil {
		return nil, err
	}
	srcs := ent.identity
	if ent.boundary != nil && ent.boundary.doc != "" {
		srcs = append(srcs, *ent.boundary)
	}
	for i, doc := range in.PolicyInputList {
		s, err := compileSim(doc, policy.AnyKind, "PolicyInputList."+strconv.Itoa(i+1), "none")
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s)
	}
	return &iamapi.GetContextKeysForPolicyResponse{ContextKeyNames: contextKeysOf(srcs)}, nil
}

// contextKeysOf lists the keys the policies read, each once, sorted.
func contextKeysOf(srcs []simSource) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range srcs {
		for _, k := range s.p.ContextKeys() {
			if l := strings.ToLower(k); !seen[l] {
				seen[l] = true
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}
