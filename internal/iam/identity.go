package iam

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
)

// ErrNoIdentity is returned for an access key that names no identity (any
// more): the caller answers as for an unknown key.
var ErrNoIdentity = errors.New("iam: access key has no identity")

type compiledDoc struct {
	p   *policy.Policy
	err error
}

// compile compiles an identity policy document once; documents are checked
// before they are stored, so a failure here is logged and the document
// contributes nothing.
func (d *Directory) compile(doc string) *policy.Policy {
	d.cacheMu.Lock()
	c, ok := d.compiled[doc]
	d.cacheMu.Unlock()
	if !ok {
		p, err := policy.Compile([]byte(doc), policy.Options{Kind: policy.IdentityKind})
		c = compiledDoc{p: p, err: err}
		d.cacheMu.Lock()
		d.compiled[doc] = c
		d.cacheMu.Unlock()
		if err != nil {
			d.log.Error("iam: stored policy does not compile", "err", err)
		}
	}
	return c.p
}

type cachedIdentity struct {
	*authz.Identity
	gen uint64
}

// resolve builds an identity; d.mu is held for reading.
func (d *Directory) resolve(accessKeyID string) (*authz.Identity, error) {
	v := d.v
	if k := v.keys[accessKeyID]; k != nil {
		if k.Service != "" {
			return &authz.Identity{Principal: authz.Principal{ARN: k.Service, Type: authz.ServiceType, Name: k.Service, UserID: k.Service, AccessKeyID: accessKeyID}}, nil
		}
		if k.UserName == "" {
			return &authz.Identity{Principal: authz.Principal{Account: k.Account, ARN: arn.RootARN(k.Account), Type: authz.RootType, UserID: k.Account, AccessKeyID: accessKeyID}}, nil
		}
		u := v.users[entityIndex(k.Account, k.UserName)]
		if u == nil || !k.belongsTo(u) {
			return nil, ErrNoIdentity
		}
		id := d.userIdentity(k.Account, u)
		id.AccessKeyID = accessKeyID
		return id, nil
	}
	s := v.sessions[accessKeyID]
	if s == nil {
		return nil, ErrNoIdentity
	}
	var id *authz.Identity
	switch {
	case s.RoleName != "":
		// A session is of the role it was issued for: once that role is
		// deleted its credentials identify no one, even when a role of the
		// same name exists again (IAM User Guide, Principal element, "IAM
		// role principals": the new role has a new principal ID;
		// id_credentials_temp_control-access_disable-perms.md: permissions are
		// evaluated each time the credentials are used).
		r := v.roles[entityIndex(s.Account, s.RoleName)]
		if r == nil || !sameEntity(s.RoleID, s.Issued, r.ID, r.Created) {
			return nil, ErrNoIdentity
		}
		id = &authz.Identity{
			Principal: authz.Principal{
				Account: s.Account, Type: authz.AssumedRoleType, Name: r.Name,
				ARN:    "arn:aws:sts::" + s.Account + ":assumed-role/" + r.Name + "/" + s.SessionName,
				UserID: r.ID + ":" + s.SessionName,
			},
			Tags:     tagMap(r.Tags),
			Policies: d.policiesOf(s.Account, r.Inline, r.Attached),
			Boundary: d.boundary(s.Account, r.Boundary),
			RoleARN:  RoleARN(s.Account, r.Path, r.Name),
		}
	case s.UserName != "":
		u := v.users[entityIndex(s.Account, s.UserName)]
		if u == nil || !sameEntity(s.UserID, s.Issued, u.ID, u.Created) {
			return nil, ErrNoIdentity
		}
		id = d.userIdentity(s.Account, u)
	default:
		id = &authz.Identity{Principal: authz.Principal{Account: s.Account, ARN: arn.RootARN(s.Account), Type: authz.RootType, UserID: s.Account}}
	}
	if s.FederatedUser != "" {
		id = federatedUser(id, s)
	}
	id.AccessKeyID = accessKeyID
	id.Temporary, id.Issued, id.Expires = true, s.Issued, s.Expiration
	id.IssuedBy = s.issuer()
	id.SourceIdentity, id.TransitiveTagKeys = s.SourceIdentity, s.TransitiveTagKeys
	id.FederatedProvider, id.FederationKeys, id.MFA = s.FederatedProvider, s.FederationKeys, s.MFA
	for _, t := range s.Tags {
		if id.Tags == nil {
			id.Tags = map[string]string{}
		}
		// A session tag replaces the role's tag of the same key
		// regardless of case (id_session-tags.md); keeping both would
		// make aws:PrincipalTag/<key> ambiguous.
		for k := range id.Tags {
			if k != t.Key && strings.EqualFold(k, t.Key) {
				delete(id.Tags, k)
			}
		}
		id.Tags[t.Key] = t.Value
	}
	if s.Policy != "" || len(s.PolicyARNs) > 0 {
		id.HasSessionPolicy = true
		if s.Policy != "" {
			if p := d.compile(s.Policy); p != nil {
				id.SessionPolicies = append(id.SessionPolicies, p)
			}
		}
		for _, a := range s.PolicyARNs {
			if p := d.managed(s.Account, a); p != nil {
				id.SessionPolicies = append(id.SessionPolicies, p)
			}
		}
	}
	return id, nil
}

func (d *Directory) userIdentity(account string, u *User) *authz.Identity {
	id := &authz.Identity{
		Principal: authz.Principal{Account: account, ARN: UserARN(account, u.Path, u.Name), Type: authz.UserType, UserID: u.ID, Name: u.Name},
		Tags:      tagMap(u.Tags),
		Policies:  d.policiesOf(account, u.Inline, u.Attached),
		Boundary:  d.boundary(account, u.Boundary),
	}
	for _, g := range u.Groups {
		if gr := d.v.groups[entityIndex(account, g)]; gr != nil {
			id.Policies = append(id.Policies, d.policiesOf(account, gr.Inline, gr.Attached)...)
		}
	}
	return id
}

func (d *Directory) policiesOf(account string, inline map[string]string, attached []string) []*policy.Policy {
	var out []*policy.Policy
	for _, doc := range inline {
		if p := d.compile(doc); p != nil {
			out = append(out, p)
		}
	}
	for _, a := range attached {
		if p := d.managed(account, a); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// managed returns the compiled default version of a managed policy ARN (a
// customer managed policy of account, or an AWS managed one), or nil.
func (d *Directory) managed(account, policyARN string) *policy.Policy {
	if policyARN == "" {
		return nil
	}
	if m := awsManaged(policyARN); m != nil {
		return d.compile(m.Document)
	}
	a, err := arn.Parse(policyARN)
	if err != nil || a.Account != account || !strings.HasPrefix(a.Resource, "policy/") {
		return nil
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	mp := d.v.policies[entityIndex(account, name)]
	if mp == nil || PolicyARN(account, mp.Path, mp.Name) != policyARN {
		return nil
	}
	return d.compile(mp.Default())
}

// allowNothing is the boundary of an identity whose boundary policy cannot
// be found: a boundary that allows nothing, so that a missing boundary
// fails closed instead of lifting the bound.
var allowNothing = func() *policy.Policy {
	p, err := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`), policy.Options{Kind: policy.IdentityKind})
	if err != nil {
		panic(err)
	}
	return p
}()

// boundary is the compiled permissions boundary an ARN names ("" for
// none).
func (d *Directory) boundary(account, policyARN string) *policy.Policy {
	if policyARN == "" {
		return nil
	}
	if p := d.managed(account, policyARN); p != nil {
		return p
	}
	d.log.Error("iam: permissions boundary not found; the identity is allowed nothing", "policy", policyARN)
	return allowNothing
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// UserARN, RoleARN, GroupARN and PolicyARN format IAM ARNs; path starts and
// ends with "/".
func UserARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":user" + path + name
}

func RoleARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":role" + path + name
}

func GroupARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":group" + path + name
}

func PolicyARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":policy" + path + name
}

// IdentityForARN builds the identity of a principal named by ARN, for
// explaining decisions: an account root, an IAM user, or an IAM role (as a
// session of it without session policies).
func (d *Directory) IdentityForARN(principalARN string) (*authz.Identity, error) {
	id, err := d.identityForARN(principalARN)
	if err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.scope(id)
	return id, nil
}

func (d *Directory) identityForARN(principalARN string) (*authz.Identity, error) {
	a, err := arn.Parse(principalARN)
	if err != nil || a.Service != "iam" {
		return nil, fmt.Errorf("iam: %q is not an IAM principal ARN", principalARN)
	}
	if _, ok := d.Account(a.Account); !ok {
		return nil, fmt.Errorf("iam: account %s is not on this server", a.Account)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	switch {
	case a.Resource == "root":
		return &authz.Identity{Principal: authz.Principal{Account: a.Account, ARN: principalARN, Type: authz.RootType, UserID: a.Account}}, nil
	case strings.HasPrefix(a.Resource, "user/"):
		if u := d.v.users[entityIndex(a.Account, name)]; u != nil {
			return d.userIdentity(a.Account, u), nil
		}
	case strings.HasPrefix(a.Resource, "role/"):
		if r := d.v.roles[entityIndex(a.Account, name)]; r != nil {
			return &authz.Identity{
				Principal: authz.Principal{Account: a.Account, Type: authz.AssumedRoleType, Name: r.Name,
					ARN: "arn:aws:sts::" + a.Account + ":assumed-role/" + r.Name + "/explain", UserID: r.ID + ":explain"},
				Tags: tagMap(r.Tags), Policies: d.policiesOf(a.Account, r.Inline, r.Attached), Boundary: d.boundary(a.Account, r.Boundary),
				RoleARN: RoleARN(a.Account, r.Path, r.Name), Temporary: true,
			}, nil
		}
	}
	return nil, fmt.Errorf("iam: no principal %s", principalARN)
}
