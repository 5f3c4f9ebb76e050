package iam

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// samlAssertionsPrefix holds the assertions already used, until they
// expire: sts/saml-assertions/<sha256 of issuer and assertion ID>. They are
// not part of the view; AssumeRoleWithSAML reads them from the store.
const samlAssertionsPrefix = "sts/saml-assertions/"

// maxSAMLProviders is IAM's quota of SAML providers per account.
const maxSAMLProviders = 100

// samlSkew is the clock skew allowed on an assertion's NotBefore.
const samlSkew = 5 * time.Minute

func noSuchSAMLProvider(providerARN string) error {
	return iamapi.NewNoSuchEntityException("SAMLProvider " + providerARN + " not found")
}

func parseSAMLProviderARN(s string) (account, name string, err error) {
	a, perr := arn.Parse(s)
	n, ok := strings.CutPrefix(a.Resource, "saml-provider/")
	if perr != nil || a.Service != "iam" || !ok || n == "" || strings.Contains(n, "/") {
		return "", "", iamapi.NewInvalidInputException("ARN " + s + " is not valid.")
	}
	return a.Account, n, nil
}

func (d *Directory) samlProvider(account, name string) *SAMLProvider {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.v.fed == nil {
		return nil
	}
	return d.v.fed.saml[account+"/"+strings.ToLower(name)]
}

func (t *tx) samlProvider(account, name string) *SAMLProvider {
	t.read(fedKey(account, samlDir, strings.ToLower(name)))
	if t.v.fed == nil {
		return nil
	}
	return t.v.fed.saml[account+"/"+strings.ToLower(name)]
}

// checkSAMLMetadata parses a metadata document as the provider will use it.
func checkSAMLMetadata(doc string) (*federation.SAMLMetadata, error) {
	md, err := federation.ParseSAMLMetadata([]byte(doc))
	if err != nil {
		return nil, iamapi.NewInvalidInputException("Could not parse metadata: " + strings.TrimPrefix(err.Error(), "federation: SAML metadata: "))
	}
	return md, nil
}

// noEncryption refuses encrypted assertions, which Trent does not decrypt.
func noEncryption(mode, addKey *string) error {
	if (mode != nil && *mode == "Required") || addKey != nil {
		return iamapi.NewInvalidInputException("Encrypted SAML assertions are not supported by this server: leave AssertionEncryptionMode Allowed and add no private key.")
	}
	return nil
}

func (d *Directory) newUUID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(d.rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// CreateSAMLProvider registers a SAML identity provider by its metadata.
func (d *Directory) CreateSAMLProvider(ctx context.Context, c Call, in *iamapi.CreateSAMLProviderRequest) (*iamapi.CreateSAMLProviderResponse, error) {
	acct, name := c.Identity.Account, *in.Name
	providerARN := SAMLProviderARN(acct, name)
	if err := d.authorize(c, "iam:CreateSAMLProvider", providerARN, tagConditionKeys(in.Tags)...); err != nil {
		return nil, err
	}
	if err := noEncryption(in.AssertionEncryptionMode, in.AddPrivateKey); err != nil {
		return nil, err
	}
	md, err := checkSAMLMetadata(*in.SAMLMetadataDocument)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	uuid, err := d.newUUID()
	if err != nil {
		return nil, err
	}
	now := d.now().UTC()
	valid := md.ValidUntil
	if valid.IsZero() {
		valid = now.AddDate(100, 0, 0) // IAM's default when metadata states none
	}
	p := &SAMLProvider{Name: name, Metadata: *in.SAMLMetadataDocument, Created: now, Valid: valid, Tags: tags, UUID: uuid}
	err = concurrentModification(d.atomically(ctx, func(t *tx) error {
		if t.samlProvider(acct, name) != nil {
			return iamapi.NewEntityAlreadyExistsException("SAMLProvider " + name + " already exists.")
		}
		a := t.account(acct)
		if a == nil {
			return iamapi.NewNoSuchEntityException("The account " + acct + " does not exist.")
		}
		n := 0
		if t.v.fed != nil {
			for idx := range t.v.fed.saml {
				if strings.HasPrefix(idx, acct+"/") {
					n++
				}
			}
		}
		if n >= maxSAMLProviders {
			return iamapi.NewLimitExceededException("Cannot exceed quota for SamlProvidersPerAccount: 100")
		}
		// The account's record guards its set of providers (quota).
		t.put(accountKey(acct), a)
		t.put(fedKey(acct, samlDir, strings.ToLower(name)), p)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	out := &iamapi.CreateSAMLProviderResponse{SAMLProviderArn: wire.Ptr(providerARN)}
	if len(tags) > 0 {
		out.Tags = apiTags(tags)
	}
	return out, nil
}

func (d *Directory) lookupSAMLProvider(c Call, action, providerARN string) (*SAMLProvider, error) {
	acct, name, err := parseSAMLProviderARN(providerARN)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, action, providerARN); err != nil {
		return nil, err
	}
	p := d.samlProvider(acct, name)
	if p == nil || acct != c.Identity.Account || SAMLProviderARN(acct, p.Name) != providerARN {
		return nil, noSuchSAMLProvider(providerARN)
	}
	return p, nil
}

func (d *Directory) updateSAMLProvider(ctx context.Context, c Call, action, providerARN string, fn func(*SAMLProvider) error, extra ...string) error {
	acct, name, err := parseSAMLProviderARN(providerARN)
	if err != nil {
		return err
	}
	if err := d.authorize(c, action, providerARN, extra...); err != nil {
		return err
	}
	if acct != c.Identity.Account {
		return noSuchSAMLProvider(providerARN)
	}
	return concurrentModification(d.atomically(ctx, func(t *tx) error {
		cur := t.samlProvider(acct, name)
		if cur == nil || SAMLProviderARN(acct, cur.Name) != providerARN {
			return noSuchSAMLProvider(providerARN)
		}
		p := clone(cur)
		if err := fn(p); err != nil {
			return err
		}
		t.put(fedKey(acct, samlDir, strings.ToLower(name)), p)
		return nil
	}))
}

// GetSAMLProvider describes a provider.
func (d *Directory) GetSAMLProvider(ctx context.Context, c Call, in *iamapi.GetSAMLProviderRequest) (*iamapi.GetSAMLProviderResponse, error) {
	p, err := d.lookupSAMLProvider(c, "iam:GetSAMLProvider", *in.SAMLProviderArn)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetSAMLProviderResponse{
		SAMLProviderUUID: wire.Ptr(p.UUID), SAMLMetadataDocument: wire.Ptr(p.Metadata), CreateDate: wire.Ptr(wire.Timestamp(p.Created)),
		ValidUntil: wire.Ptr(wire.Timestamp(p.Valid)), Tags: apiTags(p.Tags), AssertionEncryptionMode: wire.Ptr("Allowed"),
	}, nil
}

// ListSAMLProviders lists the account's providers.
func (d *Directory) ListSAMLProviders(ctx context.Context, c Call, _ *iamapi.ListSAMLProvidersRequest) (*iamapi.ListSAMLProvidersResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:ListSAMLProviders", "*"); err != nil {
		return nil, err
	}
	var ps []*SAMLProvider
	d.mu.RLock()
	if d.v.fed != nil {
		for idx, p := range d.v.fed.saml {
			if strings.HasPrefix(idx, acct+"/") {
				ps = append(ps, p)
			}
		}
	}
	d.mu.RUnlock()
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	out := &iamapi.ListSAMLProvidersResponse{SAMLProviderList: []iamapi.SAMLProviderListEntry{}}
	for _, p := range ps {
		out.SAMLProviderList = append(out.SAMLProviderList, iamapi.SAMLProviderListEntry{
			Arn: wire.Ptr(SAMLProviderARN(acct, p.Name)), ValidUntil: wire.Ptr(wire.Timestamp(p.Valid)), CreateDate: wire.Ptr(wire.Timestamp(p.Created)),
		})
	}
	return out, nil
}

// UpdateSAMLProvider replaces a provider's metadata (a new signing
// certificate, typically).
func (d *Directory) UpdateSAMLProvider(ctx context.Context, c Call, in *iamapi.UpdateSAMLProviderRequest) (*iamapi.UpdateSAMLProviderResponse, error) {
	if err := noEncryption(in.AssertionEncryptionMode, in.AddPrivateKey); err != nil {
		return nil, err
	}
	var md *federation.SAMLMetadata
	if in.SAMLMetadataDocument != nil {
		var err error
		if md, err = checkSAMLMetadata(*in.SAMLMetadataDocument); err != nil {
			return nil, err
		}
	}
	err := d.updateSAMLProvider(ctx, c, "iam:UpdateSAMLProvider", *in.SAMLProviderArn, func(p *SAMLProvider) error {
		if md != nil {
			p.Metadata = *in.SAMLMetadataDocument
			if !md.ValidUntil.IsZero() {
				p.Valid = md.ValidUntil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateSAMLProviderResponse{SAMLProviderArn: in.SAMLProviderArn}, nil
}

// DeleteSAMLProvider deletes a provider.
func (d *Directory) DeleteSAMLProvider(ctx context.Context, c Call, in *iamapi.DeleteSAMLProviderRequest) (*struct{}, error) {
	providerARN := *in.SAMLProviderArn
	acct, name, err := parseSAMLProviderARN(providerARN)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:DeleteSAMLProvider", providerARN); err != nil {
		return nil, err
	}
	if acct != c.Identity.Account {
		return nil, noSuchSAMLProvider(providerARN)
	}
	err = concurrentModification(d.atomically(ctx, func(t *tx) error {
		if p := t.samlProvider(acct, name); p == nil || SAMLProviderARN(acct, p.Name) != providerARN {
			return noSuchSAMLProvider(providerARN)
		}
		t.del(fedKey(acct, samlDir, strings.ToLower(name)))
		return nil
	}))
	return &struct{}{}, err
}

// TagSAMLProvider adds or replaces tags.
func (d *Directory) TagSAMLProvider(ctx context.Context, c Call, in *iamapi.TagSAMLProviderRequest) (*struct{}, error) {
	err := d.updateSAMLProvider(ctx, c, "iam:TagSAMLProvider", *in.SAMLProviderArn, func(p *SAMLProvider) error {
		tags, err := checkTags(p.Tags, in.Tags)
		p.Tags = tags
		return err
	}, tagConditionKeys(in.Tags)...)
	return &struct{}{}, err
}

// UntagSAMLProvider removes tags.
func (d *Directory) UntagSAMLProvider(ctx context.Context, c Call, in *iamapi.UntagSAMLProviderRequest) (*struct{}, error) {
	var extra []string
	for _, k := range in.TagKeys {
		extra = append(extra, "aws:TagKeys", k)
	}
	err := d.updateSAMLProvider(ctx, c, "iam:UntagSAMLProvider", *in.SAMLProviderArn, func(p *SAMLProvider) error {
		p.Tags = untag(p.Tags, in.TagKeys)
		return nil
	}, extra...)
	return &struct{}{}, err
}

// ListSAMLProviderTags lists a provider's tags.
func (d *Directory) ListSAMLProviderTags(ctx context.Context, c Call, in *iamapi.ListSAMLProviderTagsRequest) (*iamapi.ListSAMLProviderTagsResponse, error) {
	p, err := d.lookupSAMLProvider(c, "iam:ListSAMLProviderTags", *in.SAMLProviderArn)
	if err != nil {
		return nil, err
	}
	got, trunc, m, err := pageOf(p.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListSAMLProviderTagsResponse{Tags: apiTags(got), IsTruncated: trunc, Marker: m}, nil
}

// samlKeyNames are the saml: condition keys AWS derives from attributes
// (reference_policies_iam-condition-keys, "Available keys for SAML-based AWS
// STS federation"), by attribute Name: the OID of the eduPerson, eduOrg and
// X.500 attribute, or the key's own name.
var samlKeyNames = func() map[string]string {
	m := map[string]string{
		"urn:oid:2.5.4.3":                    "commonName",
		"urn:oid:2.5.4.42":                   "givenName",
		"urn:oid:2.5.4.4":                    "surname",
		"urn:oid:0.9.2342.19200300.100.1.1":  "uid",
		"urn:oid:0.9.2342.19200300.100.1.3":  "mail",
		"urn:oid:2.5.4.45":                   "x500UniqueIdentifier",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":   "edupersonaffiliation",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.2":   "edupersonnickname",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.3":   "edupersonorgdn",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.4":   "edupersonorgunitdn",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.5":   "edupersonprimaryaffiliation",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.6":   "edupersonprincipalname",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.7":   "edupersonentitlement",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.8":   "edupersonprimaryorgunitdn",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.9":   "edupersonscopedaffiliation",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.10":  "edupersontargetedid",
		"urn:oid:1.3.6.1.4.1.5923.1.1.1.11":  "edupersonassurance",
		"urn:oid:1.3.6.1.4.1.5923.1.2.1.2":   "eduorghomepageuri",
		"urn:oid:1.3.6.1.4.1.5923.1.2.1.3":   "eduorgidentityauthnpolicyuri",
		"urn:oid:1.3.6.1.4.1.5923.1.2.1.4":   "eduorglegalname",
		"urn:oid:1.3.6.1.4.1.5923.1.2.1.5":   "eduorgsuperioruri",
		"urn:oid:1.3.6.1.4.1.5923.1.2.1.6":   "eduorgwhitepagesuri",
		"urn:oid:1.3.6.1.4.1.25178.1.2.9":    "organizationStatus",
		"urn:oid:1.3.6.1.4.1.25178.1.2.10":   "primaryGroupSID",
		"urn:oid:2.16.840.1.113730.3.1.241":  "name",
		"urn:oid:1.2.840.113556.1.4.1":       "cn",
		"urn:oid:0.9.2342.19200300.100.1.25": "cn",
	}
	for _, n := range m {
		m[n] = n // the key's own name is an attribute Name too
	}
	return m
}()

// roleSessionName is what STS accepts as a RoleSessionName attribute.
var roleSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// nameQualifier is saml:namequalifier (id_roles_providers_saml, "Uniquely
// identifying users in SAML-based federation"): BASE64(SHA1(issuer +
// account + "/" + provider name)).
func nameQualifier(issuer, account, provider string) string {
	sum := sha1.Sum([]byte(issuer + account + "/" + provider))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// AssumeRoleWithSAML issues a role session to the bearer of a SAML response
// from an IAM SAML provider of the role's account (STS API reference,
// AssumeRoleWithSAML). Like AssumeRoleWithWebIdentity it is unsigned: the
// assertion is the credential. It must be signed by the provider's IdP,
// for AWS (Recipient and audience), within its validity, not used before,
// and name the role and provider in its Role attribute; the trust policy
// sees the provider as the Federated principal and the saml: keys.
func (d *Directory) AssumeRoleWithSAML(ctx context.Context, r authz.Request, in *stsapi.AssumeRoleWithSAMLRequest) (*stsapi.AssumeRoleWithSAMLResponse, error) {
	roleARN, providerARN := *in.RoleArn, *in.PrincipalArn
	ra, err := arn.Parse(roleARN)
	if err != nil || ra.Service != "iam" || !strings.HasPrefix(ra.Resource, "role/") {
		return nil, wire.QueryValidation("Invalid RoleArn: " + roleARN)
	}
	pAcct, pName, err := parseSAMLProviderARN(providerARN)
	if err != nil {
		return nil, wire.QueryValidation("Invalid PrincipalArn: " + providerARN)
	}
	p := d.samlProvider(pAcct, pName)
	if p == nil || pAcct != ra.Account || SAMLProviderARN(pAcct, p.Name) != providerARN {
		return nil, stsapi.NewInvalidIdentityTokenException("No SAML provider " + providerARN + " found in the role's account.")
	}
	md, err := federation.ParseSAMLMetadata([]byte(p.Metadata))
	if err != nil {
		d.log.Error("iam: stored SAML metadata does not parse", "provider", providerARN, "err", err)
		return nil, stsapi.NewInvalidIdentityTokenException("The SAML provider's metadata cannot be used.")
	}
	now := d.now()
	as, err := federation.VerifySAML(md, *in.SAMLAssertion, now, samlSkew)
	if err != nil {
		var fe *federation.Error
		if errors.As(err, &fe) && fe.Err != nil {
			d.log.Info("iam: SAML assertion refused", "provider", providerARN, "kind", fe.Kind.String(), "why", fe.Err)
		}
		return nil, federationError(err)
	}
	// The IdP says which roles the subject may take, with which provider.
	named := false
	for _, v := range as.Attributes[federation.SAMLRoleAttribute] {
		parts := strings.Split(v, ",")
		if len(parts) == 2 {
			a, b := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
			named = named || (a == roleARN && b == providerARN) || (a == providerARN && b == roleARN)
		}
	}
	if !named {
		return nil, federatedDenied("sts:AssumeRoleWithSAML")
	}
	names := as.Attributes[federation.SAMLRoleSessionNameAttribute]
	if len(names) != 1 || !roleSessionName.MatchString(names[0]) {
		return nil, stsapi.NewInvalidIdentityTokenException("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
	}

	keys, carry := policy.Keys{}, policy.Keys{}
	nq := nameQualifier(as.Issuer, pAcct, p.Name)
	keys["saml:aud"] = []string{as.Recipient}
	keys["saml:iss"] = []string{as.Issuer}
	keys["saml:sub"] = []string{as.Subject}
	keys["saml:sub_type"] = []string{as.SubjectType}
	keys["saml:doc"] = []string{pAcct + "/" + p.Name}
	keys["saml:namequalifier"] = []string{nq}
	for name, vals := range as.Attributes {
		if k, ok := samlKeyNames[name]; ok {
			keys.Add("saml:"+k, vals...)
		}
	}
	for _, k := range []string{"saml:namequalifier", "saml:sub", "saml:sub_type"} {
		carry[k] = keys[k]
	}
	tags := map[string]string{}
	for name, vals := range as.Attributes {
		if k, ok := strings.CutPrefix(name, federation.SAMLPrincipalTagPrefix); ok {
			if len(vals) != 1 {
				return nil, federationInvalid("Each session tag of the SAML assertion must have exactly one value.")
			}
			tags[k] = vals[0]
		}
	}
	transitive := as.Attributes[federation.SAMLTransitiveTagKeysAttribute]
	for _, k := range transitive {
		if _, ok := tags[k]; !ok {
			return nil, federationInvalid("A transitive tag key of the SAML assertion is not one of its session tags.")
		}
	}
	var sourceIdentity string
	if v := as.Attributes[federation.SAMLSourceIdentityAttribute]; len(v) == 1 {
		sourceIdentity = v[0]
	}

	// An assertion is used once: its record, kept until it expires, is
	// written with the session, and only if absent.
	sum := sha256.Sum256([]byte(as.Issuer + "\x00" + as.ID))
	replayKey := samlAssertionsPrefix + hex.EncodeToString(sum[:])
	used := func(ctx context.Context) error {
		_, err := d.st.Get(ctx, replayKey)
		switch {
		case err == nil:
			d.log.Warn("iam: replayed SAML assertion refused", "provider", providerARN)
			return stsapi.NewIDPRejectedClaimException("The SAML assertion has already been used.")
		case errors.Is(err, store.ErrNotFound):
			return nil
		}
		return err
	}
	record, _ := json.Marshal(struct {
		Expires time.Time `json:"expires"`
	}{as.NotOnOrAfter})
	creds, user, packed, err := d.assumeFederated(ctx, r, federatedAssume{
		roleARN: roleARN, provider: providerARN, action: "sts:AssumeRoleWithSAML", sessionName: names[0],
		keys: keys, carry: carry, tags: tags, transitive: transitive, sourceIdentity: sourceIdentity,
		policy: in.Policy, policyARNs: in.PolicyArns, duration: in.DurationSeconds, issuedBy: issuedBySAML,
		check: used, puts: []store.KV{{Key: replayKey, Value: record}}, compares: []store.Compare{{Key: replayKey}},
	})
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleWithSAMLResponse{
		Credentials: creds, AssumedRoleUser: user, PackedPolicySize: packed,
		Subject: wire.Ptr(as.Subject), SubjectType: wire.Ptr(as.SubjectType), Issuer: wire.Ptr(as.Issuer),
		Audience: wire.Ptr(as.Recipient), NameQualifier: wire.Ptr(nq),
	}
	if sourceIdentity != "" {
		out.SourceIdentity = wire.Ptr(sourceIdentity)
	}
	return out, nil
}

// purgeAssertions forgets used SAML assertions once they have expired:
// they can no longer be presented anyway.
func (d *Directory) purgeAssertions(ctx context.Context) error {
	kvs, _, err := d.st.Range(ctx, samlAssertionsPrefix)
	if err != nil {
		return err
	}
	now := d.now()
	var expired []string
	for _, kv := range kvs {
		var rec struct {
			Expires time.Time `json:"expires"`
		}
		if json.Unmarshal(kv.Value, &rec) == nil && !now.Before(rec.Expires) {
			expired = append(expired, kv.Key)
		}
	}
	if len(expired) == 0 {
		return nil
	}
	if _, err := d.st.Txn(ctx, store.Txn{Deletes: expired}); err != nil {
		return fmt.Errorf("iam: purge used SAML assertions: %w", err)
	}
	return nil
}
