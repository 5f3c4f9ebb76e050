package iam

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/sigv4"
)

// The request path's read side: the methods the request path calls on
// every request (or on every key policy and grant it saves), all served
// from memory under d.mu's read lock and the caches of directory.go. Each
// consumer declares the interface it needs, and none needs more: sigv4's
// SecretLookup (Secret), authn's Directory (Secret, Identity, NoteUse,
// OrgID, OrgScope), kms's Organization (OrgScope) and PrincipalResolver
// (PrincipalID). The IAM, STS and Organizations operations, the rest of
// Directory's methods, are not part of it: they grow without touching this
// file or its consumers. A change here is a change to what every request
// costs (bench/ BenchmarkHandler) and to who it authenticates as.

// Secret implements sigv4.SecretLookup: the secret (and session token) of a
// long-term access key or of temporary credentials.
func (d *Directory) Secret(_ context.Context, accessKeyID string) (sigv4.Credentials, error) {
	d.mu.RLock()
	k, s := d.v.keys[accessKeyID], d.v.sessions[accessKeyID]
	d.mu.RUnlock()
	switch {
	case k != nil:
		if k.Status != "Active" {
			return sigv4.Credentials{}, sigv4.ErrUnknownAccessKey
		}
	case s != nil:
		if !d.now().Before(s.Expiration) {
			return sigv4.Credentials{}, sigv4.ErrExpiredToken
		}
	default:
		return sigv4.Credentials{}, sigv4.ErrUnknownAccessKey
	}
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	if c := d.secrets[accessKeyID]; c != nil && c.key == k && c.session == s {
		return sigv4.Credentials{Secret: c.secret, SessionToken: c.token}, nil
	}
	c := &cachedSecret{key: k, session: s}
	if k != nil {
		secret, err := d.sealer.Open(k.Secret, secretAAD(k.AccessKeyID))
		if err != nil {
			return sigv4.Credentials{}, fmt.Errorf("iam: access key %s: %w", accessKeyID, err)
		}
		c.secret = string(secret)
		clear(secret)
	} else {
		secret, err := d.sealer.Open(s.Secret, secretAAD(s.AccessKeyID))
		if err != nil {
			return sigv4.Credentials{}, fmt.Errorf("iam: session %s: %w", accessKeyID, err)
		}
		token, err := d.sealer.Open(s.Token, tokenAAD(s.AccessKeyID))
		if err != nil {
			return sigv4.Credentials{}, fmt.Errorf("iam: session %s: %w", accessKeyID, err)
		}
		c.secret, c.token = string(secret), string(token)
		clear(secret)
		clear(token)
	}
	d.secrets[accessKeyID] = c
	return sigv4.Credentials{Secret: c.secret, SessionToken: c.token}, nil
}

// Identity resolves an access key to its identity, from memory.
func (d *Directory) Identity(accessKeyID string) (*authz.Identity, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.cacheMu.Lock()
	id := d.identities[accessKeyID]
	d.cacheMu.Unlock()
	if id != nil && id.gen == d.gen {
		return id.Identity, nil
	}
	out, err := d.resolve(accessKeyID)
	if err != nil {
		return nil, err
	}
	d.scope(out)
	d.cacheMu.Lock()
	d.identities[accessKeyID] = &cachedIdentity{Identity: out, gen: d.gen}
	d.cacheMu.Unlock()
	return out, nil
}

// NoteUse records that an access key was used to call service in region at
// t; for role sessions, the role counts as used too. It is cheap enough to
// call on every request.
func (d *Directory) NoteUse(accessKeyID, service, region string, t time.Time) {
	d.noteUse(accessKeyID, use{At: t, Service: service, Region: region})
	d.mu.RLock()
	s := d.v.sessions[accessKeyID]
	d.mu.RUnlock()
	if s != nil && s.RoleName != "" {
		d.noteUse(roleUseKey(s.Account, s.RoleName), use{At: t, Region: region})
	}
}

// OrgID returns the organization id of an account (aws:PrincipalOrgID), or "".
func (d *Directory) OrgID(account string) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, a := d.v.org, d.v.accounts[account]
	if o == nil || a == nil || (a.ID != o.ManagementAccount && a.Joined == "") {
		return ""
	}
	return o.ID
}

// OrgScope is the organization's word on an account, or nil when the
// account is in no organization.
func (d *Directory) OrgScope(account string) *authz.AccountOrg {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.orgScope(account)
}

// PrincipalID resolves a principal ARN that a policy or grant names, when it
// is saved: for an IAM user or role of an account of this deployment, the
// entity's unique id, and ok false when no such entity exists (its ARN, path
// included, must be exact). Other principals (account roots, sessions) and
// principals of accounts this deployment does not hold, which may belong to
// a real AWS account, are accepted with no id: nothing binds them.
func (d *Directory) PrincipalID(principalARN string) (id string, ok bool) {
	a, err := arn.Parse(principalARN)
	if err != nil {
		return "", false
	}
	if a.Service != "iam" || !(strings.HasPrefix(a.Resource, "user/") || strings.HasPrefix(a.Resource, "role/")) {
		return "", true
	}
	if _, held := d.Account(a.Account); !held {
		return "", true
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	if strings.HasPrefix(a.Resource, "user/") {
		if u := d.user(a.Account, name); u != nil && UserARN(a.Account, u.Path, u.Name) == principalARN {
			return u.ID, true
		}
		return "", false
	}
	if r := d.role(a.Account, name); r != nil && RoleARN(a.Account, r.Path, r.Name) == principalARN {
		return r.ID, true
	}
	return "", false
}
