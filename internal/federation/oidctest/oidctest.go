// Package oidctest runs a real OpenID Connect issuer for tests: an HTTPS
// server on 127.0.0.1 with its own certificate, discovery document and
// JWKS, and RSA keys that sign ID tokens. Tests point IAM OIDC providers at
// it with the thumbprint of its certificate, exactly as an operator would.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/trentkms/trent/internal/federation"
)

// Issuer is a running OIDC issuer.
type Issuer struct {
	URL        string // https://127.0.0.1:port: the iss of its tokens
	Thumbprint string // SHA-1 of its TLS certificate, for ThumbprintList
	Server     *httptest.Server

	mu   sync.Mutex
	keys []*rsa.PrivateKey // keys[i] has kid "k<i>"; the last one signs
	// JWKSFetches counts the requests for its JWKS.
	JWKSFetches atomic.Int64
}

// New starts an issuer; it stops when the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{}
	i.Rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": i.URL, "jwks_uri": i.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		i.JWKSFetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(i.JWKS())
	})
	i.Server = httptest.NewTLSServer(mux)
	t.Cleanup(i.Server.Close)
	i.URL = i.Server.URL
	i.Thumbprint = federation.Thumbprint(i.Server.Certificate())
	return i
}

// Rotate adds a new signing key; older keys stay published.
func (i *Issuer) Rotate(t testing.TB) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	i.keys = append(i.keys, k)
	i.mu.Unlock()
}

// KeyID is the kid of the current signing key.
func (i *Issuer) KeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return kid(len(i.keys) - 1)
}

func kid(n int) string { return "k" + string(rune('0'+n)) }

// JWKS is the issuer's public key set.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	set := jose.JSONWebKeySet{}
	for n, k := range i.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid(n), Algorithm: "RS256", Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

// Claims returns the claims of a valid token for sub and aud, issued now
// and expiring in ten minutes.
func (i *Issuer) Claims(sub, aud string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": i.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

// Token signs claims with the current key (RS256, its kid in the header).
func (i *Issuer) Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	i.mu.Lock()
	k, id := i.keys[len(i.keys)-1], kid(len(i.keys)-1)
	i.mu.Unlock()
	return SignWith(t, k, id, jose.RS256, claims)
}

// SignWith signs claims with any key, kid and algorithm, for tokens an
// issuer would not make.
func SignWith(t testing.TB, key any, keyID string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if keyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), keyID)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
