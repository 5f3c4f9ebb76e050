package iam

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// STS operations that issue federated role sessions.
const (
	issuedByWebIdentity = "AssumeRoleWithWebIdentity"
	issuedBySAML        = "AssumeRoleWithSAML"
)

// federatedAssume is what a federated identity asks of AssumeRoleWith*:
// the role, who vouches for the caller, and what the session carries.
type federatedAssume struct {
	roleARN     string
	provider    string // the provider ARN: the trust policy's Federated principal
	action      string // sts:AssumeRoleWithWebIdentity or sts:AssumeRoleWithSAML
	sessionName string
	// keys are the provider's condition keys for the trust policy; carry
	// those of them that the session keeps (lower-case names).
	keys, carry    policy.Keys
	tags           map[string]string
	transitive     []string
	sourceIdentity string
	policy         *string
	policyARNs     []stsapi.PolicyDescriptorType
	duration       *int32
	issuedBy       string
	// check, if set, runs before each attempt (a replayed assertion is
	// refused); puts are written with the session, if compares hold.
	check    func(context.Context) error
	puts     []store.KV
	compares []store.Compare
}

// federatedDenied is STS's answer when the trust policy does not let a
// federated identity assume the role, or the role does not exist.
func federatedDenied(action string) error {
	return wire.Errorf("AccessDenied", 403, "Not authorized to perform %s", action)
}

// assumeFederated decides a federated identity's request on the role's
// trust policy alone (a federated caller has no identity policies of its
// own) and issues the session; the session is written only if the role is
// still the one decided on, and decided again otherwise.
func (d *Directory) assumeFederated(ctx context.Context, r authz.Request, f federatedAssume) (*stsapi.Credentials, *stsapi.AssumedRoleUser, *int32, error) {
	for attempt := 1; ; attempt++ {
		if f.check != nil {
			if err := f.check(ctx); err != nil {
				return nil, nil, nil, err
			}
		}
		creds, user, packed, err := d.assumeFederatedOnce(ctx, r, f)
		if !errors.Is(err, store.ErrConflict) || attempt == maxTxnAttempts {
			return creds, user, packed, err
		}
		if err := d.catchUp(ctx); err != nil {
			return nil, nil, nil, err
		}
	}
}

func (d *Directory) assumeFederatedOnce(ctx context.Context, r authz.Request, f federatedAssume) (*stsapi.Credentials, *stsapi.AssumedRoleUser, *int32, error) {
	a, err := arn.Parse(f.roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return nil, nil, nil, wire.QueryValidation("Invalid RoleArn: " + f.roleARN)
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	role, roleRev := d.roleAt(a.Account, name)
	if role == nil || RoleARN(a.Account, role.Path, role.Name) != f.roleARN {
		return nil, nil, nil, federatedDenied(f.action)
	}
	dur := int32(defaultRoleSession)
	if f.duration != nil {
		dur = *f.duration
		if dur > role.MaxSessionDuration {
			return nil, nil, nil, wire.QueryValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	policyARNs, err := d.sessionPolicies(a.Account, f.policy, f.policyARNs)
	if err != nil {
		return nil, nil, nil, err
	}
	tags, err := federatedTags(f.tags)
	if err != nil {
		return nil, nil, nil, err
	}

	keys := authz.RequestKeys(r)
	for n, v := range f.keys {
		keys[n] = v
	}
	keys.Set("sts:RoleSessionName", f.sessionName)
	setResourceTags(keys, role.Tags, true) // the role's tags, as for AssumeRole
	for _, t := range tags {
		keys.SetOne("aws:RequestTag/"+t.Key, t.Value)
		keys.Add("aws:TagKeys", t.Key)
	}
	for _, k := range f.transitive {
		keys.Add("sts:TransitiveTagKeys", k)
	}
	if f.sourceIdentity != "" {
		keys.Set("sts:SourceIdentity", f.sourceIdentity)
	}
	actions := []string{f.action}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if f.sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	trust, err := policy.Compile([]byte(role.TrustPolicy), policy.Options{Kind: policy.TrustKind, Bound: true, Bindings: role.TrustBindings})
	if err != nil {
		d.log.Error("iam: stored trust policy does not compile", "role", f.roleARN, "err", err)
		return nil, nil, nil, federatedDenied(f.action)
	}
	for _, action := range actions {
		req := &policy.Request{
			Principal: policy.Principal{Type: policy.FederatedPrincipal, ARN: f.provider},
			Action:    action, Resource: f.roleARN, Time: r.Time, Keys: keys,
		}
		if out := trust.Decide(req); out.Decision != policy.Allow {
			d.log.Info("iam: federated access denied", "provider", f.provider, "action", action, "role", f.roleARN)
			return nil, nil, nil, federatedDenied(action)
		}
	}

	now := d.now().UTC()
	rec := sessionRecord{
		Account: a.Account, Issued: now, Expiration: now.Add(time.Duration(dur) * time.Second),
		RoleName: role.Name, RoleID: role.ID, SessionName: f.sessionName, Policy: wire.String(f.policy), PolicyARNs: policyARNs,
		Tags: tags, TransitiveTagKeys: f.transitive, SourceIdentity: f.sourceIdentity, SourceARN: f.provider,
		IssuedBy: f.issuedBy, FederatedProvider: f.provider, FederationKeys: f.carry,
	}
	creds, err := d.issue(ctx, rec, f.puts, append([]store.Compare{{Key: entityKey(a.Account, roleKind, role.Name), ModRev: roleRev}}, f.compares...)...)
	if err != nil {
		return nil, nil, nil, err
	}
	user := &stsapi.AssumedRoleUser{
		AssumedRoleId: wire.Ptr(role.ID + ":" + f.sessionName),
		Arn:           wire.Ptr("arn:aws:sts::" + a.Account + ":assumed-role/" + role.Name + "/" + f.sessionName),
	}
	var packed *int32
	if f.policy != nil || len(policyARNs) > 0 || len(tags) > 0 {
		packed = wire.Ptr(int32(100 * (len(wire.String(f.policy)) + 64*len(policyARNs) + 32*len(tags)) / maxSessionPolicySize))
	}
	return creds, user, packed, nil
}

// sessionPolicies checks the session policies of a request, as AssumeRole
// does, and returns the managed ones' ARNs.
func (d *Directory) sessionPolicies(account string, doc *string, arns []stsapi.PolicyDescriptorType) ([]string, error) {
	var out []string
	for _, p := range arns {
		if !d.policyExists(account, wire.String(p.Arn)) {
			return nil, stsapi.NewMalformedPolicyDocumentException("The policy " + wire.String(p.Arn) + " does not exist or is not attachable.")
		}
		out = append(out, wire.String(p.Arn))
	}
	if doc != nil {
		if len(*doc) > maxSessionPolicySize {
			return nil, stsapi.NewPackedPolicyTooLargeException("Packed policy consumes 100% of allotted space, please use smaller policy.")
		}
		if _, err := policy.Compile([]byte(*doc), policy.Options{Kind: policy.IdentityKind, KnownKey: authz.KnownConditionKey}); err != nil {
			return nil, sessionPolicyError(err)
		}
	}
	return out, nil
}

// federatedTags checks the session tags an identity provider passes with
// the rules of the Tags parameter (id_session-tags.md: at most 50, single
// values, keys of 1-128 characters not starting with aws:, values of at most
// 256) and returns them sorted by key.
func federatedTags(m map[string]string) ([]Tag, error) {
	if len(m) > maxSessionTags {
		return nil, federationInvalid("The identity provider passed more than 50 session tags.")
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, federationInvalid("The identity provider passed a session tag that is not valid.")
		}
		for _, t := range out {
			if strings.EqualFold(t.Key, k) {
				return nil, federationInvalid("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func federationInvalid(msg string) error { return stsapi.NewInvalidIdentityTokenException(msg) }

// federationError maps a refusal of package federation to STS's error.
func federationError(err error) error {
	var fe *federation.Error
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Kind {
	case federation.Expired:
		return stsapi.NewExpiredTokenException(fe.Message)
	case federation.Rejected:
		return stsapi.NewIDPRejectedClaimException(fe.Message)
	case federation.Unreachable:
		return stsapi.NewIDPCommunicationErrorException(fe.Message)
	}
	return stsapi.NewInvalidIdentityTokenException(fe.Message)
}

// AssumeRoleWithWebIdentity issues a role session to the holder of an
// OpenID Connect ID token from an IAM OIDC provider of the role's account
// (STS API reference, AssumeRoleWithWebIdentity). The request is not
// signed: the token is the caller's only credential, so nothing of the
// role is told before it verifies. The trust policy sees the provider as
// the Federated principal and the token's claims as <provider>:aud, :sub,
// :amr, :azp and :oaud; sub, aud and amr stay with the session.
func (d *Directory) AssumeRoleWithWebIdentity(ctx context.Context, r authz.Request, in *stsapi.AssumeRoleWithWebIdentityRequest) (*stsapi.AssumeRoleWithWebIdentityResponse, error) {
	if in.ProviderId != nil {
		// OAuth 2.0 access tokens of Login with Amazon and Facebook are
		// checked by asking those providers, which Trent does not do.
		return nil, stsapi.NewInvalidIdentityTokenException("ProviderId is only for OAuth 2.0 access tokens, which this server does not accept; present an OpenID Connect ID token without it.")
	}
	token := *in.WebIdentityToken
	iss, err := federation.Issuer(token)
	if err != nil {
		return nil, federationError(err)
	}
	a, err := arn.Parse(*in.RoleArn)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return nil, wire.QueryValidation("Invalid RoleArn: " + *in.RoleArn)
	}
	// The provider is the one of the role's account whose URL is the
	// token's issuer.
	p := d.oidcProvider(a.Account, oidcHostPath(iss))
	if p == nil || p.URL != iss {
		return nil, stsapi.NewInvalidIdentityTokenException("No OpenIDConnect provider found in your account for " + iss)
	}
	claims, err := d.oidc.Verify(ctx, federation.OIDCProvider{URL: p.URL, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints, JWKS: []byte(p.Keys)}, token)
	if err != nil {
		var fe *federation.Error
		if errors.As(err, &fe) && fe.Err != nil {
			d.log.Info("iam: web identity token refused", "provider", OIDCProviderARN(a.Account, p.URL), "kind", fe.Kind.String(), "why", fe.Err)
		}
		return nil, federationError(err)
	}
	providerARN := OIDCProviderARN(a.Account, p.URL)
	prefix := strings.ToLower(oidcHostPath(p.URL)) + ":"
	keys, carry := policy.Keys{}, policy.Keys{}
	keys[prefix+"aud"] = []string{claims.Audience}
	keys[prefix+"sub"] = []string{claims.Subject}
	if claims.AZP != "" {
		keys[prefix+"azp"] = []string{claims.AZP}
	}
	if len(claims.Audiences) > 0 {
		keys[prefix+"oaud"] = claims.Audiences
	}
	if len(claims.AMR) > 0 {
		keys[prefix+"amr"] = claims.AMR
	}
	// The keys later requests of the session carry (condition-keys-wif:
	// "Cross-service AWS web identity federation context keys").
	for _, k := range []string{"aud", "sub", "amr"} {
		if v, ok := keys[prefix+k]; ok {
			carry[prefix+k] = v
		}
	}
	creds, user, packed, err := d.assumeFederated(ctx, r, federatedAssume{
		roleARN: *in.RoleArn, provider: providerARN, action: "sts:AssumeRoleWithWebIdentity", sessionName: *in.RoleSessionName,
		keys: keys, carry: carry, tags: claims.Tags, transitive: claims.TransitiveTagKeys, sourceIdentity: claims.SourceIdentity,
		policy: in.Policy, policyARNs: in.PolicyArns, duration: in.DurationSeconds, issuedBy: issuedByWebIdentity,
	})
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleWithWebIdentityResponse{
		Credentials: creds, AssumedRoleUser: user, PackedPolicySize: packed,
		SubjectFromWebIdentityToken: wire.Ptr(claims.Subject), Provider: wire.Ptr(providerARN), Audience: wire.Ptr(claims.Audience),
	}
	if claims.SourceIdentity != "" {
		out.SourceIdentity = wire.Ptr(claims.SourceIdentity)
	}
	return out, nil
}
