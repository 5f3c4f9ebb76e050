package iam

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// issuedByFederationToken marks federated user sessions.
const issuedByFederationToken = "GetFederationToken"

// Federated user session limits (STS API reference, GetFederationToken).
const (
	defaultFederationToken = 43200
	maxFederationToken     = 129600
)

// FederatedUserARN is the ARN of a federated user session.
func FederatedUserARN(account, name string) string {
	return "arn:aws:sts::" + account + ":federated-user/" + name
}

// GetFederationToken issues a federated user session for the calling IAM
// user (or root user). Its permissions are the intersection of the user's
// identity-based policies and the session policies passed: with none
// passed, it may do nothing (STS API reference, GetFederationToken). It may
// call no IAM operation and no STS operation but GetCallerIdentity
// (CheckCredentialScope).
func (d *Directory) GetFederationToken(ctx context.Context, c Call, in *stsapi.GetFederationTokenRequest) (*stsapi.GetFederationTokenResponse, error) {
	if c.Identity.Temporary {
		return nil, wire.Errorf("AccessDenied", 403, "Cannot call GetFederationToken with session credentials")
	}
	if c.Identity.Type != authz.UserType && c.Identity.Type != authz.RootType {
		return nil, wire.Errorf("AccessDenied", 403, "Only IAM users and the root user may call GetFederationToken")
	}
	acct, name := c.Identity.Account, *in.Name
	fedARN := FederatedUserARN(acct, name)
	tags, _, err := sessionTags(c.Identity, in.Tags, nil)
	if err != nil {
		return nil, err
	}
	var extra []string
	for _, t := range tags {
		extra = append(extra, "aws:RequestTag/"+t.Key, t.Value, "aws:TagKeys", t.Key)
	}
	if err := d.authorize(c, "sts:GetFederationToken", fedARN, extra...); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := d.authorize(c, "sts:TagSession", fedARN, extra...); err != nil {
			return nil, err
		}
	}
	dur, err := tokenDuration(c, defaultFederationToken, maxFederationToken, in.DurationSeconds)
	if err != nil {
		return nil, err
	}
	policyARNs, err := d.sessionPolicies(acct, in.Policy, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	now := d.now().UTC()
	rec := sessionRecord{
		Account: acct, Issued: now, Expiration: now.Add(time.Duration(dur) * time.Second), FederatedUser: name,
		Policy: wire.String(in.Policy), PolicyARNs: policyARNs, Tags: tags, SourceARN: c.Identity.ARN, IssuedBy: issuedByFederationToken,
	}
	if c.Identity.Type == authz.UserType {
		rec.UserName, rec.UserID = c.Identity.Name, c.Identity.UserID
	}
	// The session is the user's: it must still be the one that signed.
	var creds *stsapi.Credentials
	for attempt := 1; ; attempt++ {
		guard, ok := d.callerAt(c.Identity)
		if !ok {
			return nil, wire.Errorf("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
		}
		creds, err = d.issue(ctx, rec, nil, guard)
		if !errors.Is(err, store.ErrConflict) || attempt == maxTxnAttempts {
			if err != nil {
				return nil, err
			}
			break
		}
		if err := d.catchUp(ctx); err != nil {
			return nil, err
		}
	}
	out := &stsapi.GetFederationTokenResponse{
		Credentials:   creds,
		FederatedUser: &stsapi.FederatedUser{FederatedUserId: wire.Ptr(acct + ":" + name), Arn: wire.Ptr(fedARN)},
	}
	if in.Policy != nil || len(policyARNs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = wire.Ptr(int32(100 * (len(wire.String(in.Policy)) + 64*len(policyARNs) + 32*len(tags)) / maxSessionPolicySize))
	}
	return out, nil
}

// allowAll stands for the root user's permissions in its own account, which
// no policy states: a root user's federated user is bounded by its session
// policies alone.
var allowAll = func() *policy.Policy {
	p, err := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`), policy.Options{Kind: policy.IdentityKind})
	if err != nil {
		panic(err)
	}
	return p
}()

// federatedUser turns the identity of the user (or root) that called
// GetFederationToken into its federated user session's: the user's
// policies, boundary and tags, always narrowed by session policies (none
// passed: nothing allowed).
func federatedUser(user *authz.Identity, s *sessionRecord) *authz.Identity {
	id := &authz.Identity{
		Principal: authz.Principal{
			Account: s.Account, Type: authz.FederatedUserType, Name: s.FederatedUser,
			ARN: FederatedUserARN(s.Account, s.FederatedUser), UserID: s.Account + ":" + s.FederatedUser,
		},
		Tags: maps.Clone(user.Tags), Policies: user.Policies, Boundary: user.Boundary, SCPs: user.SCPs,
		HasSessionPolicy: true,
	}
	if user.Type == authz.RootType {
		id.Policies = []*policy.Policy{allowAll}
	}
	return id
}
