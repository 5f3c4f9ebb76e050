package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults of OIDCOptions.
const (
	DefaultKeyTTL     = time.Hour
	DefaultMinRefetch = 30 * time.Second
	DefaultSkew       = 5 * time.Minute
	// fetchTimeout bounds one discovery or JWKS fetch; maxDocument bounds
	// what is read of either.
	fetchTimeout = 10 * time.Second
	maxDocument  = 1 << 20
)

// signatureAlgorithms are the JWS algorithms a token may be signed with: the
// asymmetric ones. "none" and HS* are not among them, so a token naming them
// is refused before any key is chosen (no algorithm confusion with a public
// key used as an HMAC secret).
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
}

// TagsClaim is the claim that carries session tags
// (id_session-tags.md, "Passing session tags using AssumeRoleWithWebIdentity"),
// and SourceIdentityClaim the one that sets the source identity.
const (
	TagsClaim           = "https://aws.amazon.com/tags"
	SourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

// OIDCProvider is what verification needs of an IAM OIDC provider.
type OIDCProvider struct {
	// URL is the issuer: "https://" and the host (and path) of the
	// provider, compared exactly with a token's iss.
	URL string
	// ClientIDs are the audiences a token may be for.
	ClientIDs []string
	// Thumbprints are hex SHA-1 fingerprints of certificates trusted as
	// roots for the issuer's TLS certificates, beside the system's roots.
	Thumbprints []string
	// JWKS, when not empty, is the issuer's key set (a JWKS document) as
	// the operator configured it: the keys are then never fetched.
	JWKS []byte
}

// Claims is what a verified token says.
type Claims struct {
	Issuer  string
	Subject string
	// Audience is the client id the token was accepted for: its azp when
	// it has one (a hybrid app's), else the aud that a client id matched.
	Audience string
	// AZP is the azp claim, if any; Audiences every aud.
	AZP       string
	Audiences []string
	AMR       []string
	Expiry    time.Time
	// Session tags from TagsClaim, and the keys to keep transitive.
	Tags              map[string]string
	TransitiveTagKeys []string
	SourceIdentity    string
}

// OIDCOptions configure an OIDC verifier; the zero value is the defaults.
type OIDCOptions struct {
	Now        func() time.Time // nil: time.Now
	Roots      *x509.CertPool   // nil: the system's roots
	KeyTTL     time.Duration    // how long discovered keys are used: DefaultKeyTTL
	MinRefetch time.Duration    // least time between two fetches for one issuer: DefaultMinRefetch
	Skew       time.Duration    // allowed clock skew for nbf and iat: DefaultSkew
	Log        *slog.Logger     // nil: slog.Default()
}

// OIDC verifies OpenID Connect ID tokens.
type OIDC struct {
	o     OIDCOptions
	mu    sync.Mutex
	cache map[string]*keyEntry // by issuer URL
}

// keyEntry is the cached key set of one issuer; mu serializes its fetches.
type keyEntry struct {
	mu      sync.Mutex
	trust   string // the thumbprints the keys were fetched under
	keys    *jose.JSONWebKeySet
	fetched time.Time // when keys were fetched
	tried   time.Time // when a fetch was last attempted
	err     *Error    // the last fetch's failure, answered until MinRefetch passes
}

// NewOIDC returns a verifier.
func NewOIDC(o OIDCOptions) *OIDC {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeyTTL == 0 {
		o.KeyTTL = DefaultKeyTTL
	}
	if o.MinRefetch == 0 {
		o.MinRefetch = DefaultMinRefetch
	}
	if o.Skew == 0 {
		o.Skew = DefaultSkew
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &OIDC{o: o, cache: map[string]*keyEntry{}}
}

// Issuer returns the iss claim of a token without verifying anything, so
// that the caller can find the provider whose keys will verify it.
func Issuer(token string) (string, error) {
	tok, err := jwt.ParseSigned(token, signatureAlgorithms)
	if err != nil {
		return "", invalid("The web identity token is not a signed JWT with a supported algorithm.", err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || c.Issuer == "" {
		return "", invalid("The web identity token has no issuer.", err)
	}
	return c.Issuer, nil
}

// extraClaims are the claims beyond the registered ones that STS reads.
type extraClaims struct {
	AZP            string          `json:"azp"`
	AMR            json.RawMessage `json:"amr"`
	Tags           json.RawMessage `json:"https://aws.amazon.com/tags"`
	SourceIdentity *string         `json:"https://aws.amazon.com/source_identity"`
}

// Verify checks a token against a provider and returns its claims, or an
// *Error.
func (v *OIDC) Verify(ctx context.Context, p OIDCProvider, token string) (*Claims, error) {
	tok, err := jwt.ParseSigned(token, signatureAlgorithms)
	if err != nil {
		return nil, invalid("The web identity token is not a signed JWT with a supported algorithm.", err)
	}
	if len(tok.Headers) != 1 {
		return nil, invalid("The web identity token must have exactly one signature.", nil)
	}
	h := tok.Headers[0]
	keys, err := v.keys(ctx, p, h.KeyID)
	if err != nil {
		return nil, err
	}
	var (
		std   jwt.Claims
		extra extraClaims
	)
	verified := false
	for _, k := range candidates(keys, h) {
		if err := tok.Claims(k.Key, &std, &extra); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalid("The signature of the web identity token could not be verified.", nil)
	}
	if std.Issuer != p.URL {
		return nil, invalid("The issuer of the web identity token is not the provider's URL.", nil)
	}
	now := v.o.Now()
	if std.Expiry == nil {
		return nil, invalid("The web identity token has no expiration (exp).", nil)
	}
	// No skew on exp: a token is never accepted past the end its issuer
	// gave it.
	if exp := std.Expiry.Time(); !now.Before(exp) {
		return nil, &Error{Kind: Expired, Message: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp.Unix())}
	}
	if std.NotBefore != nil && now.Add(v.o.Skew).Before(std.NotBefore.Time()) {
		return nil, invalid("The web identity token is not valid yet (nbf).", nil)
	}
	if std.IssuedAt != nil && now.Add(v.o.Skew).Before(std.IssuedAt.Time()) {
		return nil, invalid("The web identity token was issued in the future (iat).", nil)
	}
	if std.Subject == "" {
		return nil, invalid("The web identity token has no subject (sub).", nil)
	}
	c := &Claims{Issuer: std.Issuer, Subject: std.Subject, AZP: extra.AZP, Audiences: []string(std.Audience), Expiry: std.Expiry.Time()}
	// A hybrid app's token names its client in azp and may name another
	// in aud (condition-keys-wif, "aud"): the client is azp's.
	switch {
	case c.AZP != "" && slices.Contains(p.ClientIDs, c.AZP):
		c.Audience = c.AZP
	case c.AZP == "":
		for _, a := range c.Audiences {
			if slices.Contains(p.ClientIDs, a) {
				c.Audience = a
				break
			}
		}
	}
	if c.Audience == "" {
		return nil, invalid("Incorrect token audience", nil)
	}
	if c.AMR, err = stringOrList(extra.AMR); err != nil {
		return nil, invalid("The amr claim of the web identity token is not a string or a list of strings.", err)
	}
	if len(extra.Tags) > 0 {
		if err := c.readTags(extra.Tags); err != nil {
			return nil, err
		}
	}
	if extra.SourceIdentity != nil {
		c.SourceIdentity = *extra.SourceIdentity
	}
	return c, nil
}

// readTags reads TagsClaim: {"principal_tags": {"k": ["v"]},
// "transitive_tag_keys": ["k"]}; STS takes one value per tag.
func (c *Claims) readTags(raw json.RawMessage) error {
	var t struct {
		PrincipalTags     map[string]json.RawMessage `json:"principal_tags"`
		TransitiveTagKeys []string                   `json:"transitive_tag_keys"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return invalid("The session tags claim of the web identity token is malformed.", err)
	}
	c.Tags = map[string]string{}
	for k, rv := range t.PrincipalTags {
		vs, err := stringOrList(rv)
		if err != nil || len(vs) != 1 {
			return invalid("Each session tag of the web identity token must have exactly one value.", err)
		}
		c.Tags[k] = vs[0]
	}
	for _, k := range t.TransitiveTagKeys {
		if _, ok := c.Tags[k]; !ok {
			return invalid("A transitive tag key of the web identity token is not one of its session tags.", nil)
		}
	}
	c.TransitiveTagKeys = t.TransitiveTagKeys
	return nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// candidates are the keys of a set that may have signed a token with header
// h: public RSA or EC keys, for signing, of the header's kid (or any kid when
// the header names none) and, when a key states its algorithm, of h's.
func candidates(set *jose.JSONWebKeySet, h jose.Header) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range set.Keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Use != "" && k.Use != "sig" || k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			out = append(out, k)
		}
	}
	return out
}

// couldNotRetrieve is STS's answer when the issuer's keys cannot be had
// (its text, two spaces included, as STS words it).
const couldNotRetrieve = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"

// keys returns the key set to verify a token naming kid.
func (v *OIDC) keys(ctx context.Context, p OIDCProvider, kid string) (*jose.JSONWebKeySet, error) {
	if len(p.JWKS) > 0 {
		set, err := ParseJWKS(p.JWKS)
		if err != nil {
			return nil, invalid(couldNotRetrieve, err)
		}
		if kid != "" && len(set.Key(kid)) == 0 {
			return nil, invalid(couldNotRetrieve, fmt.Errorf("no key %q among the configured keys", kid))
		}
		return set, nil
	}
	v.mu.Lock()
	e := v.cache[p.URL]
	if e == nil {
		e = &keyEntry{}
		v.cache[p.URL] = e
	}
	v.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := v.o.Now()
	trust := strings.Join(p.Thumbprints, ",")
	if e.trust != trust {
		// Keys fetched under another trust are not these thumbprints' keys.
		e.trust, e.keys, e.fetched, e.tried, e.err = trust, nil, time.Time{}, time.Time{}, nil
	}
	stale := e.keys == nil || now.Sub(e.fetched) >= v.o.KeyTTL
	missing := e.keys != nil && kid != "" && len(e.keys.Key(kid)) == 0
	if stale || missing {
		if !e.tried.IsZero() && now.Sub(e.tried) < v.o.MinRefetch {
			// Fetched a moment ago: answer from what that fetch gave.
			if e.keys == nil || stale {
				if e.err != nil {
					return nil, e.err
				}
				return nil, invalid(couldNotRetrieve, nil)
			}
		} else {
			e.tried = now
			// Not the request's context: a caller who hangs up mid-fetch
			// must not leave a failure that others are answered with.
			set, ferr := v.fetch(context.WithoutCancel(ctx), p)
			if err := asError(ferr); err != nil {
				v.o.Log.Warn("federation: fetch the keys of an OIDC issuer", "issuer", p.URL, "err", err)
				e.err = err
				if stale {
					e.keys = nil
					return nil, err
				}
			} else {
				e.keys, e.fetched, e.err = set, now, nil
			}
		}
	}
	if kid != "" && len(e.keys.Key(kid)) == 0 {
		return nil, invalid(couldNotRetrieve, fmt.Errorf("no key %q at the issuer", kid))
	}
	return e.keys, nil
}

func asError(err error) *Error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return invalid(couldNotRetrieve, err)
}

// ParseJWKS parses a JWKS document and checks that it holds at least one
// public signing key, and no private or symmetric key.
func ParseJWKS(doc []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("federation: JWKS: %w", err)
	}
	usable := 0
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, errors.New("federation: JWKS: holds a private or symmetric key")
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			usable++
		}
	}
	if usable == 0 {
		return nil, errors.New("federation: JWKS: no RSA or EC public key")
	}
	return &set, nil
}

// fetch discovers the issuer's jwks_uri and fetches its keys.
func (v *OIDC) fetch(ctx context.Context, p OIDCProvider) (*jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, p, strings.TrimSuffix(p.URL, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	// OpenID Connect Discovery 1.0, section 4.3: the issuer in the
	// document must be the one it was fetched for.
	if disc.Issuer != p.URL {
		return nil, invalid(couldNotRetrieve, fmt.Errorf("the discovery document names issuer %q", disc.Issuer))
	}
	var raw json.RawMessage
	if err := v.getJSON(ctx, p, disc.JWKSURI, &raw); err != nil {
		return nil, err
	}
	set, err := ParseJWKS(raw)
	if err != nil {
		return nil, invalid(couldNotRetrieve, err)
	}
	return set, nil
}

// getJSON fetches a JSON document over HTTPS, trusting the system's roots
// or the provider's thumbprints, following no redirect.
func (v *OIDC) getJSON(ctx context.Context, p OIDCProvider, rawURL string, out any) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return invalid(couldNotRetrieve, fmt.Errorf("%q is not an https URL", rawURL))
	}
	host := u.Hostname()
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: fetchTimeout,
		ForceAttemptHTTP2:   true,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The chain is verified by VerifyConnection below, against the
			// system's roots or the provider's thumbprints.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return verifyChain(cs.PeerCertificates, host, v.o.Roots, p.Thumbprints, v.o.Now())
			},
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("federation: the identity provider answered with a redirect")
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return invalid(couldNotRetrieve, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &ne) && ne.Timeout() || errors.As(err, &oe) && oe.Op == "dial" {
			return &Error{Kind: Unreachable, Message: "The identity provider could not be reached to verify the web identity token.", Err: err}
		}
		return invalid(couldNotRetrieve, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return invalid(couldNotRetrieve, fmt.Errorf("GET %s: %s", u, resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return invalid(couldNotRetrieve, err)
	}
	if len(body) > maxDocument {
		return invalid(couldNotRetrieve, fmt.Errorf("GET %s: more than %d bytes", u, maxDocument))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return invalid(couldNotRetrieve, fmt.Errorf("GET %s: %w", u, err))
	}
	return nil
}

// verifyChain accepts a server's certificate chain if it is valid for host
// and chains to roots (nil: the system's) or to one of its own
// certificates whose SHA-1 thumbprint is listed (IAM's thumbprints: a
// provider's certificate, or the CA at the top of its chain).
func verifyChain(certs []*x509.Certificate, host string, roots *x509.CertPool, thumbprints []string, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("federation: the server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: host, Intermediates: inter, Roots: roots, CurrentTime: now}
	_, err := certs[0].Verify(opts)
	if err == nil {
		return nil
	}
	for _, c := range certs {
		tp := Thumbprint(c)
		if !slices.ContainsFunc(thumbprints, func(t string) bool { return strings.EqualFold(t, tp) }) {
			continue
		}
		pool := x509.NewCertPool()
		pool.AddCert(c)
		opts.Roots = pool
		if _, terr := certs[0].Verify(opts); terr == nil {
			return nil
		}
	}
	return fmt.Errorf("federation: the identity provider's certificate is not trusted: %w", err)
}

// Thumbprint is a certificate's SHA-1 fingerprint in lower-case hex, the
// form of IAM's OIDC provider thumbprints.
func Thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return hex.EncodeToString(sum[:])
}
