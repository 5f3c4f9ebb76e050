package iam

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// What the organization says of an account, as authorization uses it: the
// guardrails (SCPs of its principals, RCPs of its resources) and its place
// (the org paths condition keys). Scopes are built from the view once per
// change (d.gen) and account, from documents compiled once each, and shared
// by every request until the next change.

// orgScope is OrgScope with d.mu held for reading.
func (d *Directory) orgScope(account string) *authz.AccountOrg {
	o := d.v.org
	if o == nil || !inOrg(d.v, o, account) {
		return nil
	}
	d.cacheMu.Lock()
	if d.scopesGen != d.gen || d.scopes == nil {
		d.scopes, d.scopesGen = map[string]*authz.AccountOrg{}, d.gen
	}
	s, ok := d.scopes[account]
	d.cacheMu.Unlock()
	if ok {
		return s
	}
	s = d.buildScope(o, account)
	d.cacheMu.Lock()
	if d.scopesGen == d.gen {
		d.scopes[account] = s
	}
	d.cacheMu.Unlock()
	return s
}

// buildScope builds an account's scope from the view (d.mu held).
func (d *Directory) buildScope(o *Organization, account string) *authz.AccountOrg {
	v := d.v
	root := rootOf(o)
	m := memberOf(v, o, account)
	// The levels above the account, root first.
	var ous []*OrgUnit
	for id, n := m.Parent, 0; strings.HasPrefix(id, "ou-") && v.orgs != nil && n <= maxOUDepth; n++ {
		ou := v.orgs.ous[id]
		if ou == nil {
			break
		}
		ous = append([]*OrgUnit{ou}, ous...)
		id = ou.Parent
	}
	s := &authz.AccountOrg{OrgID: o.ID, Paths: []string{entityPath(v, o, m.Parent)}}
	if account == o.ManagementAccount {
		// SCPs do not limit the management account's principals, nor RCPs
		// its resources (Organizations User Guide, SCP and RCP effects on
		// permissions).
		return s
	}
	level := func(typ, target string, a attachments) authz.Guardrail {
		g := authz.Guardrail{Target: target}
		for _, id := range root.effective(a, typ) {
			g.Policies = append(g.Policies, d.orgPolicyCompiled(typ, id))
			g.IDs = append(g.IDs, id)
		}
		return g
	}
	for _, typ := range []string{scpType, rcpType} {
		if _, ok := root.Types[typ]; !ok {
			continue
		}
		levels := []authz.Guardrail{level(typ, root.ID, root.Attached)}
		for _, ou := range ous {
			levels = append(levels, level(typ, ou.ID, ou.Attached))
		}
		levels = append(levels, level(typ, account, m.Attached))
		if typ == scpType {
			s.SCPs = levels
		} else {
			s.Resource = levels
		}
	}
	return s
}

// Policies that stand in for a guardrail whose document cannot be had
// (a record missing or not compiling): they deny everything, so that a
// guardrail lost fails closed rather than lifting what it denied.
var (
	scpDenyAll = mustCompileKind(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, policy.IdentityKind)
	rcpDenyAll = mustCompileKind(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`, policy.ResourceKind)
)

func mustCompileKind(doc string, k policy.Kind) *policy.Policy {
	p, err := policy.Compile([]byte(doc), policy.Options{Kind: k})
	if err != nil {
		panic(err)
	}
	return p
}

// orgPolicyCompiled is an attached policy, compiled once per document; a
// policy that is gone or does not compile denies everything.
func (d *Directory) orgPolicyCompiled(typ, id string) *policy.Policy {
	p := awsOrgPolicy(id)
	if p == nil && d.v.orgs != nil {
		p = d.v.orgs.policies[id]
	}
	deny := scpDenyAll
	kind := policy.IdentityKind
	if typ == rcpType {
		deny, kind = rcpDenyAll, policy.ResourceKind
	}
	if p == nil {
		d.log.Error("iam: an attached organization policy is missing; it denies everything", "policy", id)
		return deny
	}
	if c := d.compileKind(p.Content, kind); c != nil {
		return c
	}
	return deny
}

// compileKind is compile for a document of another kind than identity.
func (d *Directory) compileKind(doc string, k policy.Kind) *policy.Policy {
	if k == policy.IdentityKind {
		return d.compile(doc)
	}
	key := k.String() + "\x00" + doc
	d.cacheMu.Lock()
	c, ok := d.compiled[key]
	d.cacheMu.Unlock()
	if !ok {
		p, err := policy.Compile([]byte(doc), policy.Options{Kind: k})
		c = compiledDoc{p: p, err: err}
		d.cacheMu.Lock()
		d.compiled[key] = c
		d.cacheMu.Unlock()
		if err != nil {
			d.log.Error("iam: stored policy does not compile", "kind", k, "err", err)
		}
	}
	return c.p
}

// scope sets what the organization says of an identity's account: the
// SCPs that limit it (none for service-linked roles) and its org paths.
// d.mu is held for reading.
func (d *Directory) scope(id *authz.Identity) {
	if id.Type == authz.ServiceType || id.Account == "" {
		return
	}
	if id.Type == authz.AssumedRoleType && id.RoleARN != "" {
		name := id.RoleARN[strings.LastIndexByte(id.RoleARN, '/')+1:]
		if r := d.v.roles[entityIndex(id.Account, name)]; r != nil && r.ServiceName != "" {
			id.ServiceLinked = true
		}
	}
	s := d.orgScope(id.Account)
	if s == nil {
		return
	}
	id.OrgPaths = s.Paths
	if !id.ServiceLinked {
		id.SCPs = s.SCPs
	}
}

// sessionPolicyError is STS's answer to a session policy that does not
// compile: its text for a document that is not valid, or the finding that
// names a condition key Trent never sets.
func sessionPolicyError(err error) error {
	var ve *policy.ValidationError
	if errors.As(err, &ve) && ve.Findings[0].Code == policy.CodeCondition && strings.HasPrefix(ve.Findings[0].Message, "Condition key ") {
		return stsapi.NewMalformedPolicyDocumentException(ve.Findings[0].Message)
	}
	return stsapi.NewMalformedPolicyDocumentException("The policy is not in the valid JSON format.")
}

// Stand-in accounts of access analysis: no account on the server has them
// (an account id must be 12 digits; these begin with 0000000000, which
// Trent never makes).
const (
	otherAccount       = "000000000000" // any principal of an account in no organization this deployment knows
	otherMemberAccount = "000000000001" // any principal of another account of the key's organization
)

// AnalysisCandidates are the principals access analysis of a key of
// account asks about (kms.Service.WhoCan): the account's root, users and
// roles (as sessions) with their policies and SCPs; any principal of the
// account, of another account of its organization, and of an account in
// no organization, as stand-ins whose own policies allow everything; and
// the registered services. Principals of the deployment's other accounts
// are not listed one by one: the account's root learns nothing of them it
// could not learn from AWS's Access Analyzer.
func (d *Directory) AnalysisCandidates(account, region string, now time.Time) []authz.Candidate {
	req := func(acct string) authz.Request {
		return authz.Request{Time: now, Region: region, SecureTransport: true, OrgID: d.OrgID(acct)}
	}
	var out []authz.Candidate
	add := func(arn, kind string, acct string) {
		id, err := d.IdentityForARN(arn)
		if err == nil {
			out = append(out, authz.Candidate{Identity: id, Label: arn, Kind: kind, Request: req(acct)})
		}
	}
	add("arn:aws:iam::"+account+":root", "principal", account)
	d.mu.RLock()
	var users, roles []string
	for idx, u := range d.v.users {
		if strings.HasPrefix(idx, account+"/") {
			users = append(users, UserARN(account, u.Path, u.Name))
		}
	}
	for idx, r := range d.v.roles {
		if strings.HasPrefix(idx, account+"/") {
			roles = append(roles, RoleARN(account, r.Path, r.Name))
		}
	}
	var services []string
	for _, k := range d.v.keys {
		if k.Service != "" && !slices.Contains(services, k.Service) {
			services = append(services, k.Service)
		}
	}
	d.mu.RUnlock()
	sort.Strings(users)
	sort.Strings(roles)
	sort.Strings(services)
	for _, u := range users {
		add(u, "principal", account)
	}
	for _, r := range roles {
		add(r, "principal", account)
	}
	scope := d.OrgScope(account)
	if scope != nil {
		out = append(out, authz.Candidate{Identity: authz.AccountStandIn(account, scope.Paths[0], scope.SCPs), Label: "any principal of account " + account, Kind: "account", Request: req(account)})
		member := authz.Request{Time: now, Region: region, SecureTransport: true, OrgID: scope.OrgID}
		out = append(out, authz.Candidate{Identity: authz.AccountStandIn(otherMemberAccount, scope.OrgID+"/"+strings.Split(scope.Paths[0], "/")[1]+"/", nil),
			Label: "any principal of another account of " + scope.OrgID, Kind: "other", Request: member})
	} else {
		out = append(out, authz.Candidate{Identity: authz.AccountStandIn(account, "", nil), Label: "any principal of account " + account, Kind: "account", Request: req(account)})
	}
	out = append(out, authz.Candidate{Identity: authz.AccountStandIn(otherAccount, "", nil), Label: "any principal of another account", Kind: "other",
		Request: authz.Request{Time: now, Region: region, SecureTransport: true}})
	for _, svc := range services {
		out = append(out, authz.Candidate{Identity: &authz.Identity{Principal: authz.Principal{ARN: svc, Type: authz.ServiceType, Name: svc, UserID: svc}}, Label: svc, Kind: "service",
			Request: authz.Request{Time: now, Region: region, SecureTransport: true}})
	}
	return out
}
