package iam

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// Session limits from the STS API reference.
const (
	minSession           = 900
	defaultRoleSession   = 3600
	chainedSessionMax    = 3600
	defaultSessionToken  = 43200
	maxSessionToken      = 129600
	rootSessionTokenMax  = 3600
	maxSessionPolicySize = 2048
	maxSessionTags       = 50
)

func stsDenied(c Call, action, resource string, r authz.Reason) error {
	return wire.Errorf("AccessDenied", 403, "%s", r.Message(c.Identity.ARN, action, resource))
}

// GetCallerIdentity says who the caller is. It needs no permission: AWS
// answers it even when a policy denies sts:GetCallerIdentity.
func (d *Directory) GetCallerIdentity(ctx context.Context, c Call, _ *stsapi.GetCallerIdentityRequest) (*stsapi.GetCallerIdentityResponse, error) {
	id := c.Identity
	return &stsapi.GetCallerIdentityResponse{UserId: wire.Ptr(id.UserID), Account: wire.Ptr(id.Account), Arn: wire.Ptr(id.ARN)}, nil
}

// AssumeRole issues temporary credentials for a role whose trust policy
// allows the caller, combined with the caller's own policies as for any
// resource-based policy (authz.DecideResource: a trust policy naming the
// caller's user or session ARN suffices within an account; naming the
// caller's role is still limited by its boundary and session policies;
// naming the account delegates to the caller's identity policies, which a
// caller of another account always needs).
//
// The session is written only if the role is still the one whose trust
// policy was decided on; if it changed meanwhile (UpdateAssumeRolePolicy,
// DeleteRole), the request is decided again on the role as it now is.
func (d *Directory) AssumeRole(ctx context.Context, c Call, in *stsapi.AssumeRoleRequest) (*stsapi.AssumeRoleResponse, error) {
	for attempt := 1; ; attempt++ {
		out, err := d.assumeRole(ctx, c, in)
		if !errors.Is(err, store.ErrConflict) || attempt == maxTxnAttempts {
			return out, err
		}
		if err := d.catchUp(ctx); err != nil {
			return nil, err
		}
	}
}

func (d *Directory) assumeRole(ctx context.Context, c Call, in *stsapi.AssumeRoleRequest) (*stsapi.AssumeRoleResponse, error) {
	roleARN := *in.RoleArn
	if c.Identity.Type == authz.RootType {
		return nil, wire.Errorf("AccessDenied", 403, "Roles may not be assumed by root accounts.")
	}
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return nil, wire.QueryValidation("Invalid RoleArn: " + roleARN)
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	r, roleRev := d.roleAt(a.Account, name)
	denied := func() error { return stsDenied(c, "sts:AssumeRole", roleARN, authz.NoIdentityAllow) }
	if r == nil || RoleARN(a.Account, r.Path, r.Name) != roleARN {
		return nil, denied()
	}
	mfa, err := d.checkMFA(c, in.SerialNumber, in.TokenCode)
	if err != nil {
		return nil, err
	}
	// Session duration: within the role's maximum; one hour when chaining.
	maxDur := r.MaxSessionDuration
	if c.Identity.Temporary {
		maxDur = chainedSessionMax
	}
	dur := int32(defaultRoleSession)
	if in.DurationSeconds != nil {
		dur = *in.DurationSeconds
		if dur > maxDur {
			return nil, wire.QueryValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	tags, transitive, err := sessionTags(c.Identity, in.Tags, in.TransitiveTagKeys)
	if err != nil {
		return nil, err
	}
	var policyARNs []string
	for _, p := range in.PolicyArns {
		if !d.policyExists(a.Account, wire.String(p.Arn)) {
			return nil, stsapi.NewMalformedPolicyDocumentException("The policy " + wire.String(p.Arn) + " does not exist or is not attachable.")
		}
		policyARNs = append(policyARNs, wire.String(p.Arn))
	}
	if in.Policy != nil {
		if len(*in.Policy) > maxSessionPolicySize {
			return nil, stsapi.NewPackedPolicyTooLargeException("Packed policy consumes 100% of allotted space, please use smaller policy.")
		}
		if _, err := policy.Compile([]byte(*in.Policy), policy.Options{Kind: policy.IdentityKind, KnownKey: authz.KnownConditionKey}); err != nil {
			return nil, sessionPolicyError(err)
		}
	}

	// A source identity, once set, persists through role chaining and
	// cannot be changed (IAM User Guide,
	// id_credentials_temp_control-access_monitor): another value is
	// denied; none carries the caller's into the new session, which sets it
	// there, so the trust policy sees sts:SourceIdentity and must allow
	// sts:SetSourceIdentity as when it is given.
	sourceIdentity := wire.String(in.SourceIdentity)
	if c.Identity.SourceIdentity != "" {
		if in.SourceIdentity != nil && *in.SourceIdentity != c.Identity.SourceIdentity {
			return nil, wire.Errorf("AccessDenied", 403, "User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s", c.Identity.ARN, roleARN)
		}
		sourceIdentity = c.Identity.SourceIdentity
	}

	// The request context of the trust policy and of the caller's policies.
	keys := authz.GlobalKeys(c.Identity, c.Request)
	keys.Set("sts:RoleSessionName", *in.RoleSessionName)
	// The resource is the role, of its account.
	keys.Set("aws:ResourceAccount", a.Account)
	for n, v := range d.OrgScope(a.Account).ResourceKeys() {
		keys[n] = v
	}
	// The role's tags, as the role decided on has them: "IAM and AWS STS
	// support both the iam:ResourceTag IAM condition key and the
	// aws:ResourceTag global condition key" (reference_policies_iam-condition-keys).
	setResourceTags(keys, r.Tags, true)
	if mfa != nil {
		// The request is MFA-authenticated now (aws:MultiFactorAuthPresent,
		// aws:MultiFactorAuthAge), whatever the caller's credentials.
		keys.Set("aws:MultiFactorAuthPresent", "true")
		keys.Set("aws:MultiFactorAuthAge", "0")
	}
	if in.ExternalId != nil {
		keys.Set("sts:ExternalId", *in.ExternalId)
	}
	if sourceIdentity != "" {
		keys.Set("sts:SourceIdentity", sourceIdentity)
	}
	for _, t := range tags {
		keys.Set("aws:RequestTag/"+t.Key, t.Value)
		keys.Add("aws:TagKeys", t.Key)
	}
	for _, k := range transitive {
		keys.Add("sts:TransitiveTagKeys", k)
	}
	actions := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	// The users and roles the trust policy names are those it was saved
	// with, by unique id (bind.go).
	trust, err := policy.Compile([]byte(r.TrustPolicy), policy.Options{Kind: policy.TrustKind, Bound: true, Bindings: r.TrustBindings})
	if err != nil {
		d.log.Error("iam: stored trust policy does not compile", "role", roleARN, "err", err)
		return nil, denied()
	}
	// The RCPs of the role's account limit who assumes it, except a
	// service-linked role (Organizations User Guide, RCPs: AWS STS is among
	// the services they apply to).
	var rcps []authz.Guardrail
	if r.ServiceName == "" {
		rcps = d.OrgScope(a.Account).RCPs()
	}
	for _, action := range actions {
		req := &policy.Request{
			Principal: c.Identity.PolicyPrincipal(),
			Action:    action, Resource: roleARN, Time: c.Request.Time, Keys: keys,
		}
		dec := authz.DecideResourceWithin(c.Identity, req, a.Account, trust.Decide(req), c.Request.Endpoint, rcps)
		if !dec.Allowed() {
			if dec.Reason == authz.NoResourceAllow {
				// STS answers a trust policy that does not allow the caller
				// with its bare text, which says nothing of the policy.
				return nil, wire.Errorf("AccessDenied", 403, "User: %s is not authorized to perform: %s on resource: %s", c.Identity.ARN, action, roleARN)
			}
			return nil, stsDenied(c, action, roleARN, dec.Reason)
		}
	}

	now := d.now().UTC()
	rec := sessionRecord{
		Account: a.Account, Issued: now, Expiration: now.Add(time.Duration(dur) * time.Second),
		RoleName: r.Name, RoleID: r.ID, SessionName: *in.RoleSessionName, Policy: wire.String(in.Policy), PolicyARNs: policyARNs,
		Tags: tags, TransitiveTagKeys: transitive, SourceIdentity: sourceIdentity, SourceARN: c.Identity.ARN,
		IssuedBy: issuedByAssumeRole,
	}
	creds, err := d.issue(ctx, rec.withMFA(mfa, now), mfa.puts(), store.Compare{Key: entityKey(a.Account, roleKind, r.Name), ModRev: roleRev}, mfa.compare())
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleResponse{
		Credentials: creds,
		AssumedRoleUser: &stsapi.AssumedRoleUser{
			AssumedRoleId: wire.Ptr(r.ID + ":" + *in.RoleSessionName),
			Arn:           wire.Ptr("arn:aws:sts::" + a.Account + ":assumed-role/" + r.Name + "/" + *in.RoleSessionName),
		},
	}
	if in.Policy != nil || len(policyARNs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = wire.Ptr(int32(100 * (len(wire.String(in.Policy)) + 64*len(policyARNs) + 32*len(tags)) / maxSessionPolicySize))
	}
	if rec.SourceIdentity != "" {
		out.SourceIdentity = wire.Ptr(rec.SourceIdentity)
	}
	return out, nil
}

// sessionTags merges the caller's transitive session tags (role chaining)
// with the request's tags, as STS does.
func sessionTags(caller *authz.Identity, add []stsapi.Tag, transitive []string) ([]Tag, []string, error) {
	var out []Tag
	var keepTransitive []string
	if caller.Temporary {
		for _, k := range caller.TransitiveTagKeys {
			if v, ok := caller.Tags[k]; ok {
				out = append(out, Tag{Key: k, Value: v})
				keepTransitive = append(keepTransitive, k)
			}
		}
	}
	for _, t := range add {
		k := wire.String(t.Key)
		for _, kt := range keepTransitive {
			if strings.EqualFold(kt, k) {
				return nil, nil, wire.Errorf("InvalidParameterValue", 400, "One or more of the specified transitive tag keys can't be set because it conflicts with a transitive tag key in the calling session.")
			}
		}
		for _, o := range out {
			if strings.EqualFold(o.Key, k) {
				return nil, nil, wire.Errorf("InvalidParameterValue", 400, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
		out = append(out, Tag{Key: k, Value: wire.String(t.Value)})
	}
	if len(out) > maxSessionTags {
		return nil, nil, wire.QueryValidation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	for _, k := range transitive {
		found := false
		for _, t := range add {
			found = found || strings.EqualFold(wire.String(t.Key), k)
		}
		if !found {
			return nil, nil, wire.Errorf("InvalidParameterValue", 400, "The specified transitive tag key must be included in the requested tags.")
		}
		keepTransitive = append(keepTransitive, k)
	}
	return out, keepTransitive, nil
}

// tokenDuration is the lifetime of the credentials GetSessionToken and
// GetFederationToken issue: requested, else def, at most max; a root user's
// last one hour at most, and by default (GetSessionToken and
// GetFederationToken API references, DurationSeconds).
func tokenDuration(c Call, def, max int32, requested *int32) (int32, error) {
	if c.Identity.Type == authz.RootType {
		def, max = rootSessionTokenMax, rootSessionTokenMax
	}
	if requested == nil {
		return def, nil
	}
	if *requested > max {
		return 0, wire.QueryValidation("The requested DurationSeconds exceeds the 1 hour session limit for root users.")
	}
	return *requested, nil
}

// GetSessionToken issues temporary credentials for the calling IAM user or
// root user, for use where temporary credentials are required.
func (d *Directory) GetSessionToken(ctx context.Context, c Call, in *stsapi.GetSessionTokenRequest) (*stsapi.GetSessionTokenResponse, error) {
	if c.Identity.Temporary {
		return nil, wire.Errorf("AccessDenied", 403, "Cannot call GetSessionToken with session credentials")
	}
	dur, err := tokenDuration(c, defaultSessionToken, maxSessionToken, in.DurationSeconds)
	if err != nil {
		return nil, err
	}
	now := d.now().UTC()
	rec := sessionRecord{Account: c.Identity.Account, Issued: now, Expiration: now.Add(time.Duration(dur) * time.Second), SourceARN: c.Identity.ARN, IssuedBy: issuedByGetSessionToken}
	if c.Identity.Type == authz.UserType {
		rec.UserName, rec.UserID = c.Identity.Name, c.Identity.UserID
	}
	// The session is the caller's: the user (or account) must still be the
	// one that signed when the session is written, and an MFA code is used
	// once: if either changed meanwhile, decide again on them as they are.
	var creds *stsapi.Credentials
	for attempt := 1; ; attempt++ {
		guard, ok := d.callerAt(c.Identity)
		if !ok {
			return nil, wire.Errorf("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
		}
		mfa, err := d.checkMFA(c, in.SerialNumber, in.TokenCode)
		if err != nil {
			return nil, err
		}
		creds, err = d.issue(ctx, rec.withMFA(mfa, now), mfa.puts(), guard, mfa.compare())
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
	return &stsapi.GetSessionTokenResponse{Credentials: creds}, nil
}

// issue stores a session with fresh credentials and returns them, with
// puts in the same transaction, if the records guards names still have the
// revisions given (store.ErrConflict otherwise; a guard without a key is
// none).
func (d *Directory) issue(ctx context.Context, rec sessionRecord, puts []store.KV, guards ...store.Compare) (*stsapi.Credentials, error) {
	id, secret, err := d.newAccessKey("ASIA")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 192)
	if _, err := io.ReadFull(d.rand, tok); err != nil {
		return nil, err
	}
	token := base64.StdEncoding.EncodeToString(tok)
	clear(tok)
	rec.AccessKeyID = id
	if rec.Secret, err = d.sealer.Seal([]byte(secret), secretAAD(id)); err != nil {
		return nil, err
	}
	if rec.Token, err = d.sealer.Seal([]byte(token), tokenAAD(id)); err != nil {
		return nil, err
	}
	key := sessionsPrefix + id
	var compares []store.Compare
	for _, g := range guards {
		if g.Key != "" {
			compares = append(compares, g)
		}
	}
	if err := d.commit(ctx, store.Txn{Compares: append([]store.Compare{{Key: key}}, compares...), Puts: append([]store.KV{{Key: key, Value: mustJSON(rec)}}, puts...)}); err != nil {
		return nil, err
	}
	return &stsapi.Credentials{AccessKeyId: wire.Ptr(id), SecretAccessKey: wire.Ptr(secret), SessionToken: wire.Ptr(token), Expiration: wire.Ptr(wire.Timestamp(rec.Expiration))}, nil
}
