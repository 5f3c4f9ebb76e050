package iam

import (
	"context"
	"encoding/hex"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// IAM quotas of OIDC providers (IAM User Guide, IAM and AWS STS quotas).
const (
	maxOIDCProviders = 100
	maxClientIDs     = 100
	maxThumbprints   = 5
)

func noSuchOIDCProvider(providerARN string) error {
	return iamapi.NewNoSuchEntityException("OpenIDConnect Provider not found for arn " + providerARN)
}

// checkOIDCURL checks a provider URL as CreateOpenIDConnectProvider takes
// it: https, a host, an optional path, no query or fragment. Unlike IAM, a
// port is allowed: on-premises issuers often listen on one.
func checkOIDCURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#") {
		return iamapi.NewInvalidInputException("The URL " + raw + " is not valid: it must begin with https://, name a host, and have no query or fragment.")
	}
	if strings.ContainsAny(raw, "*?#") || strings.Contains(u.Path, "//") {
		return iamapi.NewInvalidInputException("The URL " + raw + " is not valid.")
	}
	return nil
}

func checkThumbprints(tps []string) ([]string, error) {
	if len(tps) > maxThumbprints {
		return nil, iamapi.NewLimitExceededException("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5")
	}
	out := make([]string, 0, len(tps))
	for _, t := range tps {
		if b, err := hex.DecodeString(t); err != nil || len(b) != 20 {
			return nil, iamapi.NewInvalidInputException("Thumbprint " + t + " is not a 40-character hexadecimal SHA-1 fingerprint.")
		}
		out = append(out, strings.ToLower(t))
	}
	return out, nil
}

func checkClientIDs(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxClientIDs {
		return nil, iamapi.NewLimitExceededException("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
	}
	return out, nil
}

// parseOIDCProviderARN returns the account and host/path an OIDC provider
// ARN names.
func parseOIDCProviderARN(s string) (account, hostPath string, err error) {
	a, perr := arn.Parse(s)
	hp, ok := strings.CutPrefix(a.Resource, "oidc-provider/")
	if perr != nil || a.Service != "iam" || !ok || hp == "" {
		return "", "", iamapi.NewInvalidInputException("ARN " + s + " is not valid.")
	}
	return a.Account, hp, nil
}

// oidcProvider returns a provider of account by host/path.
func (d *Directory) oidcProvider(account, hostPath string) *OIDCProvider {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.v.fed == nil {
		return nil
	}
	return d.v.fed.oidc[account+"/"+hostPath]
}

func (t *tx) oidcProvider(account, hostPath string) *OIDCProvider {
	t.read(fedKey(account, oidcDir, hostPath))
	if t.v.fed == nil {
		return nil
	}
	return t.v.fed.oidc[account+"/"+hostPath]
}

// updateOIDCProvider changes a provider of the caller's account in one
// transaction.
func (d *Directory) updateOIDCProvider(ctx context.Context, c Call, action, providerARN string, fn func(*OIDCProvider) error, extra ...string) error {
	acct, hp, err := parseOIDCProviderARN(providerARN)
	if err != nil {
		return err
	}
	if err := d.authorize(c, action, providerARN, extra...); err != nil {
		return err
	}
	if acct != c.Identity.Account {
		return noSuchOIDCProvider(providerARN)
	}
	return concurrentModification(d.atomically(ctx, func(t *tx) error {
		cur := t.oidcProvider(acct, hp)
		if cur == nil {
			return noSuchOIDCProvider(providerARN)
		}
		p := clone(cur)
		if err := fn(p); err != nil {
			return err
		}
		t.put(fedKey(acct, oidcDir, hp), p)
		return nil
	}))
}

// CreateOpenIDConnectProvider registers an OIDC identity provider.
func (d *Directory) CreateOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.CreateOpenIDConnectProviderRequest) (*iamapi.CreateOpenIDConnectProviderResponse, error) {
	acct, u := c.Identity.Account, *in.Url
	if err := checkOIDCURL(u); err != nil {
		return nil, err
	}
	providerARN := OIDCProviderARN(acct, u)
	if err := d.authorize(c, "iam:CreateOpenIDConnectProvider", providerARN, tagConditionKeys(in.Tags)...); err != nil {
		return nil, err
	}
	tps, err := checkThumbprints(in.ThumbprintList)
	if err != nil {
		return nil, err
	}
	ids, err := checkClientIDs(in.ClientIDList)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	p := &OIDCProvider{URL: u, ClientIDs: ids, Thumbprints: tps, Created: d.now().UTC(), Tags: tags}
	hp := oidcHostPath(u)
	err = concurrentModification(d.atomically(ctx, func(t *tx) error {
		if t.oidcProvider(acct, hp) != nil {
			return iamapi.NewEntityAlreadyExistsException("Provider with url " + u + " already exists.")
		}
		// The account's record guards its set of providers: every create
		// rewrites it, so two concurrent creates cannot both pass the quota.
		a := t.account(acct)
		if a == nil {
			return iamapi.NewNoSuchEntityException("The account " + acct + " does not exist.")
		}
		n := 0
		if t.v.fed != nil {
			for idx := range t.v.fed.oidc {
				if strings.HasPrefix(idx, acct+"/") {
					n++
				}
			}
		}
		if n >= maxOIDCProviders {
			return iamapi.NewLimitExceededException("Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100")
		}
		t.put(accountKey(acct), a)
		t.put(fedKey(acct, oidcDir, hp), p)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	out := &iamapi.CreateOpenIDConnectProviderResponse{OpenIDConnectProviderArn: wire.Ptr(providerARN)}
	if len(tags) > 0 {
		out.Tags = apiTags(tags)
	}
	return out, nil
}

// lookupOIDCProvider authorizes action on a provider of the caller's
// account and returns it.
func (d *Directory) lookupOIDCProvider(c Call, action, providerARN string) (*OIDCProvider, error) {
	acct, hp, err := parseOIDCProviderARN(providerARN)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, action, providerARN); err != nil {
		return nil, err
	}
	p := d.oidcProvider(acct, hp)
	if p == nil || acct != c.Identity.Account {
		return nil, noSuchOIDCProvider(providerARN)
	}
	return p, nil
}

// GetOpenIDConnectProvider describes a provider; its URL is given without
// the scheme, as IAM gives it.
func (d *Directory) GetOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.GetOpenIDConnectProviderRequest) (*iamapi.GetOpenIDConnectProviderResponse, error) {
	p, err := d.lookupOIDCProvider(c, "iam:GetOpenIDConnectProvider", *in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetOpenIDConnectProviderResponse{
		Url: wire.Ptr(oidcHostPath(p.URL)), ClientIDList: append([]string{}, p.ClientIDs...), ThumbprintList: append([]string{}, p.Thumbprints...),
		CreateDate: wire.Ptr(wire.Timestamp(p.Created)), Tags: apiTags(p.Tags),
	}, nil
}

// ListOpenIDConnectProviders lists the account's providers.
func (d *Directory) ListOpenIDConnectProviders(ctx context.Context, c Call, _ *iamapi.ListOpenIDConnectProvidersRequest) (*iamapi.ListOpenIDConnectProvidersResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:ListOpenIDConnectProviders", "*"); err != nil {
		return nil, err
	}
	var arns []string
	d.mu.RLock()
	if d.v.fed != nil {
		for idx, p := range d.v.fed.oidc {
			if strings.HasPrefix(idx, acct+"/") {
				arns = append(arns, OIDCProviderARN(acct, p.URL))
			}
		}
	}
	d.mu.RUnlock()
	sort.Strings(arns)
	out := &iamapi.ListOpenIDConnectProvidersResponse{OpenIDConnectProviderList: []iamapi.OpenIDConnectProviderListEntry{}}
	for _, a := range arns {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, iamapi.OpenIDConnectProviderListEntry{Arn: wire.Ptr(a)})
	}
	return out, nil
}

// DeleteOpenIDConnectProvider deletes a provider. Sessions it issued stay
// valid until they expire, as in IAM; no new ones are issued.
func (d *Directory) DeleteOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.DeleteOpenIDConnectProviderRequest) (*struct{}, error) {
	providerARN := *in.OpenIDConnectProviderArn
	acct, hp, err := parseOIDCProviderARN(providerARN)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:DeleteOpenIDConnectProvider", providerARN); err != nil {
		return nil, err
	}
	if acct != c.Identity.Account {
		return nil, noSuchOIDCProvider(providerARN)
	}
	err = concurrentModification(d.atomically(ctx, func(t *tx) error {
		if t.oidcProvider(acct, hp) == nil {
			return noSuchOIDCProvider(providerARN)
		}
		t.del(fedKey(acct, oidcDir, hp))
		return nil
	}))
	return &struct{}{}, err
}

// AddClientIDToOpenIDConnectProvider adds an audience; adding one already
// there changes nothing, as in IAM.
func (d *Directory) AddClientIDToOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.AddClientIDToOpenIDConnectProviderRequest) (*struct{}, error) {
	err := d.updateOIDCProvider(ctx, c, "iam:AddClientIDToOpenIDConnectProvider", *in.OpenIDConnectProviderArn, func(p *OIDCProvider) error {
		ids, err := checkClientIDs(append(p.ClientIDs, *in.ClientID))
		p.ClientIDs = ids
		return err
	})
	return &struct{}{}, err
}

// RemoveClientIDFromOpenIDConnectProvider removes an audience; removing
// one that is not there changes nothing, as in IAM.
func (d *Directory) RemoveClientIDFromOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.RemoveClientIDFromOpenIDConnectProviderRequest) (*struct{}, error) {
	err := d.updateOIDCProvider(ctx, c, "iam:RemoveClientIDFromOpenIDConnectProvider", *in.OpenIDConnectProviderArn, func(p *OIDCProvider) error {
		p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(id string) bool { return id == *in.ClientID })
		return nil
	})
	return &struct{}{}, err
}

// UpdateOpenIDConnectProviderThumbprint replaces the thumbprints.
func (d *Directory) UpdateOpenIDConnectProviderThumbprint(ctx context.Context, c Call, in *iamapi.UpdateOpenIDConnectProviderThumbprintRequest) (*struct{}, error) {
	tps, err := checkThumbprints(in.ThumbprintList)
	if err != nil {
		return nil, err
	}
	err = d.updateOIDCProvider(ctx, c, "iam:UpdateOpenIDConnectProviderThumbprint", *in.OpenIDConnectProviderArn, func(p *OIDCProvider) error {
		p.Thumbprints = tps
		return nil
	})
	return &struct{}{}, err
}

// TagOpenIDConnectProvider adds or replaces tags.
func (d *Directory) TagOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.TagOpenIDConnectProviderRequest) (*struct{}, error) {
	err := d.updateOIDCProvider(ctx, c, "iam:TagOpenIDConnectProvider", *in.OpenIDConnectProviderArn, func(p *OIDCProvider) error {
		tags, err := checkTags(p.Tags, in.Tags)
		p.Tags = tags
		return err
	}, tagConditionKeys(in.Tags)...)
	return &struct{}{}, err
}

// UntagOpenIDConnectProvider removes tags.
func (d *Directory) UntagOpenIDConnectProvider(ctx context.Context, c Call, in *iamapi.UntagOpenIDConnectProviderRequest) (*struct{}, error) {
	var extra []string
	for _, k := range in.TagKeys {
		extra = append(extra, "aws:TagKeys", k)
	}
	err := d.updateOIDCProvider(ctx, c, "iam:UntagOpenIDConnectProvider", *in.OpenIDConnectProviderArn, func(p *OIDCProvider) error {
		p.Tags = untag(p.Tags, in.TagKeys)
		return nil
	}, extra...)
	return &struct{}{}, err
}

// ListOpenIDConnectProviderTags lists a provider's tags.
func (d *Directory) ListOpenIDConnectProviderTags(ctx context.Context, c Call, in *iamapi.ListOpenIDConnectProviderTagsRequest) (*iamapi.ListOpenIDConnectProviderTagsResponse, error) {
	p, err := d.lookupOIDCProvider(c, "iam:ListOpenIDConnectProviderTags", *in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	got, trunc, m, err := pageOf(p.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListOpenIDConnectProviderTagsResponse{Tags: apiTags(got), IsTruncated: trunc, Marker: m}, nil
}

// SetOpenIDConnectProviderKeys configures the keys that verify a
// provider's tokens, for sites that cannot reach the issuer (a JWKS
// document; empty: discover them again). Keys are as much the provider's
// trust as its thumbprints, so the same permission governs them:
// iam:UpdateOpenIDConnectProviderThumbprint on the provider.
func (d *Directory) SetOpenIDConnectProviderKeys(ctx context.Context, c Call, providerARN string, jwks []byte) error {
	if len(jwks) > 0 {
		if _, err := federation.ParseJWKS(jwks); err != nil {
			return iamapi.NewInvalidInputException("The keys are not a JWKS document of public RSA or EC signing keys: " + err.Error())
		}
	}
	return d.updateOIDCProvider(ctx, c, "iam:UpdateOpenIDConnectProviderThumbprint", providerARN, func(p *OIDCProvider) error {
		p.Keys = string(jwks)
		return nil
	})
}
