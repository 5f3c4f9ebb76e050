package federation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/federation/oidctest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func provider(iss *oidctest.Issuer) federation.OIDCProvider {
	return federation.OIDCProvider{URL: iss.URL, ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{iss.Thumbprint}}
}

func wantKind(t *testing.T, err error, kind federation.Kind, msg string) {
	t.Helper()
	var fe *federation.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a federation.Error of kind %s", err, kind)
	}
	if fe.Kind != kind || !strings.Contains(fe.Message, msg) {
		t.Fatalf("err = %s %q, want %s containing %q", fe.Kind, fe.Message, kind, msg)
	}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// A token is accepted only if every check passes; each bad token is
// refused with the STS error its flaw calls for.
func TestOIDCVerify(t *testing.T) {
	iss := oidctest.New(t)
	v := federation.NewOIDC(federation.OIDCOptions{})
	ctx := context.Background()
	p := provider(iss)
	now := time.Now()

	good := iss.Claims("system:serviceaccount:default:app", "sts.amazonaws.com")
	good["amr"] = []string{"pwd", "mfa"}
	good[federation.TagsClaim] = map[string]any{
		"principal_tags":      map[string]any{"Project": []string{"Automation"}, "Team": "Blue"},
		"transitive_tag_keys": []string{"Project"},
	}
	c, err := v.Verify(ctx, p, iss.Token(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "system:serviceaccount:default:app" || c.Audience != "sts.amazonaws.com" || c.Issuer != iss.URL ||
		strings.Join(c.AMR, ",") != "pwd,mfa" || c.Tags["Project"] != "Automation" || c.Tags["Team"] != "Blue" ||
		strings.Join(c.TransitiveTagKeys, ",") != "Project" {
		t.Fatalf("claims = %+v", c)
	}

	with := func(k string, val any) map[string]any {
		m := iss.Claims("app", "sts.amazonaws.com")
		if val == nil {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tampered := func() string {
		tok := iss.Token(t, iss.Claims("app", "sts.amazonaws.com"))
		parts := strings.Split(tok, ".")
		parts[1] = b64(iss.Claims("admin", "sts.amazonaws.com"))
		return strings.Join(parts, ".")
	}()
	pub := iss.JWKS() // public material an attacker has, as an HMAC key
	for _, tt := range []struct {
		name  string
		token string
		kind  federation.Kind
		msg   string
	}{
		{"expired", iss.Token(t, with("exp", now.Add(-time.Second).Unix())), federation.Expired, "Token expired: current date/time"},
		{"no expiry", iss.Token(t, with("exp", nil)), federation.Invalid, "no expiration"},
		{"not yet valid", iss.Token(t, with("nbf", now.Add(time.Hour).Unix())), federation.Invalid, "not valid yet"},
		{"issued in the future", iss.Token(t, with("iat", now.Add(time.Hour).Unix())), federation.Invalid, "issued in the future"},
		{"wrong audience", iss.Token(t, with("aud", "someone-else")), federation.Invalid, "Incorrect token audience"},
		{"azp not a client", iss.Token(t, with("azp", "other-app")), federation.Invalid, "Incorrect token audience"},
		{"wrong issuer", iss.Token(t, with("iss", "https://evil.example.com")), federation.Invalid, "issuer"},
		{"no subject", iss.Token(t, with("sub", nil)), federation.Invalid, "no subject"},
		{"unknown kid", oidctest.SignWith(t, otherKey, "nope", jose.RS256, iss.Claims("app", "sts.amazonaws.com")), federation.Invalid, "Couldn't retrieve verification key"},
		{"another key under the issuer's kid", oidctest.SignWith(t, otherKey, iss.KeyID(), jose.RS256, iss.Claims("app", "sts.amazonaws.com")), federation.Invalid, "signature"},
		{"EC key under the issuer's kid", oidctest.SignWith(t, ecKey, iss.KeyID(), jose.ES256, iss.Claims("app", "sts.amazonaws.com")), federation.Invalid, "signature"},
		{"tampered payload", tampered, federation.Invalid, "signature"},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(iss.Claims("app", "sts.amazonaws.com")) + ".", federation.Invalid, "supported algorithm"},
		{"HS256 keyed with public material", oidctest.SignWith(t, pub, iss.KeyID(), jose.HS256, iss.Claims("app", "sts.amazonaws.com")), federation.Invalid, "supported algorithm"},
		{"not a JWT", "hello", federation.Invalid, "not a signed JWT"},
		{"tags with two values", iss.Token(t, with(federation.TagsClaim, map[string]any{"principal_tags": map[string]any{"a": []string{"1", "2"}}})), federation.Invalid, "exactly one value"},
		{"transitive key not a tag", iss.Token(t, with(federation.TagsClaim, map[string]any{"principal_tags": map[string]any{"a": "1"}, "transitive_tag_keys": []string{"b"}})), federation.Invalid, "transitive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, p, tt.token)
			wantKind(t, err, tt.kind, tt.msg)
		})
	}

	t.Run("azp of a client, aud another", func(t *testing.T) {
		m := with("aud", "backend")
		m["azp"] = "sts.amazonaws.com"
		c, err := v.Verify(ctx, p, iss.Token(t, m))
		if err != nil || c.Audience != "sts.amazonaws.com" || c.Audiences[0] != "backend" {
			t.Fatalf("claims %+v, %v", c, err)
		}
	})
	t.Run("one of several audiences", func(t *testing.T) {
		c, err := v.Verify(ctx, p, iss.Token(t, with("aud", []string{"x", "sts.amazonaws.com"})))
		if err != nil || c.Audience != "sts.amazonaws.com" {
			t.Fatalf("claims %+v, %v", c, err)
		}
	})
	t.Run("skew tolerated on nbf", func(t *testing.T) {
		if _, err := v.Verify(ctx, p, iss.Token(t, with("nbf", now.Add(time.Minute).Unix()))); err != nil {
			t.Fatal(err)
		}
	})
}

// The issuer's TLS certificate must be trusted: without its thumbprint (and
// not chaining to a system root) the keys cannot be fetched.
func TestOIDCUntrustedIssuerCertificate(t *testing.T) {
	iss := oidctest.New(t)
	v := federation.NewOIDC(federation.OIDCOptions{})
	p := provider(iss)
	p.Thumbprints = []string{strings.Repeat("ab", 20)}
	_, err := v.Verify(context.Background(), p, iss.Token(t, iss.Claims("app", "sts.amazonaws.com")))
	wantKind(t, err, federation.Invalid, "Couldn't retrieve verification key")
	if n := iss.JWKSFetches.Load(); n != 0 {
		t.Fatalf("the JWKS was served %d times over an untrusted connection", n)
	}
	// Thumbprints are hex: case does not matter.
	p.Thumbprints = []string{strings.ToUpper(iss.Thumbprint)}
	if _, err := v.Verify(context.Background(), p, iss.Token(t, iss.Claims("app", "sts.amazonaws.com"))); err != nil {
		t.Fatal(err)
	}
}

// Keys are fetched once and cached; a token with an unknown kid refetches
// at most once per MinRefetch (a rotated key is found, made-up kids cannot
// flood the issuer); after KeyTTL the keys are fetched again.
func TestOIDCKeyCache(t *testing.T) {
	iss := oidctest.New(t)
	clk := &clock{t: time.Now()}
	v := federation.NewOIDC(federation.OIDCOptions{Now: clk.Now, KeyTTL: time.Hour, MinRefetch: time.Minute})
	ctx := context.Background()
	p := provider(iss)
	claims := func() map[string]any {
		m := iss.Claims("app", "sts.amazonaws.com")
		m["exp"] = clk.Now().Add(10 * time.Minute).Unix()
		m["iat"], m["nbf"] = clk.Now().Unix(), clk.Now().Unix()
		return m
	}
	for range 3 {
		if _, err := v.Verify(ctx, p, iss.Token(t, claims())); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.JWKSFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for three tokens, want 1", n)
	}
	// Made-up kids: one refetch, then refused from the cache.
	clk.Add(2 * time.Minute)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := range 5 {
		_, err := v.Verify(ctx, p, oidctest.SignWith(t, other, "made-up-"+string(rune('a'+i)), jose.RS256, claims()))
		wantKind(t, err, federation.Invalid, "Couldn't retrieve verification key")
	}
	if n := iss.JWKSFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	// The issuer rotates its key: found once MinRefetch has passed.
	iss.Rotate(t)
	_, err := v.Verify(ctx, p, iss.Token(t, claims()))
	wantKind(t, err, federation.Invalid, "Couldn't retrieve verification key")
	clk.Add(2 * time.Minute)
	if _, err := v.Verify(ctx, p, iss.Token(t, claims())); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := iss.JWKSFetches.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", n)
	}
	clk.Add(2 * time.Hour)
	if _, err := v.Verify(ctx, p, iss.Token(t, claims())); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches.Load(); n != 4 {
		t.Fatalf("JWKS fetched %d times after the TTL, want 4", n)
	}
}

// Keys configured on the provider are used as they are: the issuer is never
// contacted, and a key it publishes but the configuration lacks is refused.
func TestOIDCConfiguredKeys(t *testing.T) {
	iss := oidctest.New(t)
	jwks := iss.JWKS()
	iss.Rotate(t) // published, but not configured
	v := federation.NewOIDC(federation.OIDCOptions{})
	p := federation.OIDCProvider{URL: iss.URL, ClientIDs: []string{"ci"}, JWKS: jwks}
	_, err := v.Verify(context.Background(), p, iss.Token(t, iss.Claims("app", "ci")))
	wantKind(t, err, federation.Invalid, "Couldn't retrieve verification key")
	old := iss.Claims("app", "ci")
	p.JWKS = iss.JWKS()
	if _, err := v.Verify(context.Background(), p, iss.Token(t, old)); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches.Load(); n != 0 {
		t.Fatalf("the issuer was asked for its keys %d times", n)
	}
}

func TestParseJWKSRefusesSecretKeys(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k, KeyID: "a"}}})
	sym, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "a"}}})
	for name, doc := range map[string][]byte{"private": priv, "symmetric": sym, "empty": []byte(`{"keys":[]}`), "garbage": []byte(`{`)} {
		if _, err := federation.ParseJWKS(doc); err == nil {
			t.Errorf("%s key set accepted", name)
		}
	}
}

// A caller that gives up while the keys are fetched does not make the fetch
// fail for the callers after it.
func TestOIDCFetchOutlivesItsCaller(t *testing.T) {
	iss := oidctest.New(t)
	v := federation.NewOIDC(federation.OIDCOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Verify(ctx, provider(iss), iss.Token(t, iss.Claims("app", "sts.amazonaws.com"))); err != nil {
		t.Fatalf("a canceled caller's verification: %v", err)
	}
	if _, err := v.Verify(context.Background(), provider(iss), iss.Token(t, iss.Claims("app", "sts.amazonaws.com"))); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}
