package xks_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/keystore/xks/xksproxy"
)

const (
	uriPath = "/example/prefix/kms/xks/v1"
	region  = "us-east-2"
)

// Credentials in the syntax of the specification's configuration file
// example.
var (
	cred  = xks.Credential{AccessKeyID: "AKIAI2SFODNN7EXAMPLE", Secret: "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE"}
	cred2 = xks.Credential{AccessKeyID: "BKIAI2SFODNN7EXAMPLE", Secret: "VU6W2byoiBrhDqNGbx703oL0syCAmhlQgwNUT123456"}
)

func md(op string) xks.RequestMetadata {
	return xks.RequestMetadata{
		AWSPrincipalARN: "arn:aws:iam::123456789012:user/Alice",
		KMSKeyARN:       "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		KMSOperation:    op,
		KMSRequestID:    "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
	}
}

type env struct {
	proxy  *xksproxy.Proxy
	srv    *httptest.Server
	client *xks.Client
}

// newEnv starts a proxy with the keys "enabled", "disabled", "versioned"
// (with ciphertext metadata) and "signonly", behind an httptest server
// (TLS with its self-signed certificate when tls is set), and a client for
// it. wrap, if not nil, sits between the server and the proxy.
func newEnv(t *testing.T, tls bool, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	p, err := xksproxy.New(xksproxy.Config{URIPath: uriPath, Region: region, Credentials: []xks.Credential{cred}}, xksproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id, u := range map[string]xksproxy.Usage{"enabled": xksproxy.UsageEncrypt | xksproxy.UsageDecrypt, "disabled": xksproxy.UsageEncrypt | xksproxy.UsageDecrypt, "signonly": xksproxy.UsageSign} {
		if err := p.GenerateKey(id, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SetStatus("disabled", xks.KeyDisabled); err != nil {
		t.Fatal(err)
	}
	if err := p.AddKey("versioned", xksproxy.Key{Material: bytes.Repeat([]byte{7}, 32), Usage: xksproxy.UsageEncrypt | xksproxy.UsageDecrypt, Metadata: []byte("key_version=1")}); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = p
	if wrap != nil {
		h = wrap(p)
	}
	e := &env{proxy: p}
	cfg := xks.Config{URIPath: uriPath, Region: region, Credential: cred, Timeout: 10 * time.Second}
	if tls {
		e.srv = httptest.NewTLSServer(h)
		cfg.HTTPClient = e.srv.Client()
	} else {
		e.srv = httptest.NewServer(h)
	}
	t.Cleanup(e.srv.Close)
	cfg.Endpoint = e.srv.URL
	if e.client, err = xks.New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// clientWith returns a client for e's server with cfg's changes.
func (e *env) clientWith(t *testing.T, change func(*xks.Config)) *xks.Client {
	t.Helper()
	cfg := xks.Config{Endpoint: e.srv.URL, URIPath: uriPath, Region: region, Credential: cred, Timeout: 10 * time.Second, HTTPClient: e.srv.Client()}
	change(&cfg)
	c, err := xks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		key        string
		plaintext  []byte
		aad        []byte
		wantMetaCT []byte
	}{
		{name: "no AAD", key: "enabled", plaintext: []byte("Hello World!")},
		{name: "AAD", key: "enabled", plaintext: []byte("Hello World!"), aad: []byte("project=nile,department=marketing")},
		{name: "ciphertext metadata", key: "versioned", plaintext: bytes.Repeat([]byte{1}, 32), aad: []byte("ctx"), wantMetaCT: []byte("key_version=1")},
		{name: "maximum sizes", key: "enabled", plaintext: bytes.Repeat([]byte{2}, xks.MaxPlaintextSize), aad: bytes.Repeat([]byte{3}, xks.MaxAADSize)},
	}
	for _, tls := range []bool{false, true} {
		e := newEnv(t, tls, nil)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("tls=%v/%s", tls, tt.name), func(t *testing.T) {
				ct, err := e.client.Encrypt(ctx, tt.key, md("Encrypt"), tt.plaintext, tt.aad)
				if err != nil {
					t.Fatal(err)
				}
				if len(ct.Ciphertext) != len(tt.plaintext) || len(ct.IV) != 12 || len(ct.Tag) != 16 || !bytes.Equal(ct.Metadata, tt.wantMetaCT) {
					t.Fatalf("ciphertext sizes %d/%d/%d, metadata %q", len(ct.Ciphertext), len(ct.IV), len(ct.Tag), ct.Metadata)
				}
				pt, err := e.client.Decrypt(ctx, tt.key, md("Decrypt"), ct, tt.aad)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(pt, tt.plaintext) {
					t.Fatal("plaintext differs")
				}
			})
		}
	}
}

func TestGetKeyMetadata(t *testing.T) {
	e := newEnv(t, true, nil)
	m := md("CreateKey")
	m.KMSKeyARN = "" // not sent by CreateKey
	tests := []struct {
		key       string
		want      xks.KeyMetadata
		checkFail bool
	}{
		{key: "enabled", want: xks.KeyMetadata{KeySpec: "AES_256", Usage: []string{"ENCRYPT", "DECRYPT"}, Status: xks.KeyEnabled}},
		{key: "disabled", want: xks.KeyMetadata{KeySpec: "AES_256", Usage: []string{"ENCRYPT", "DECRYPT"}, Status: xks.KeyDisabled}, checkFail: true},
		{key: "signonly", want: xks.KeyMetadata{KeySpec: "AES_256", Usage: []string{"SIGN", "VERIFY"}, Status: xks.KeyEnabled}, checkFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := e.client.GetKeyMetadata(context.Background(), tt.key, m)
			if err != nil {
				t.Fatal(err)
			}
			if got.KeySpec != tt.want.KeySpec || got.Status != tt.want.Status || strings.Join(got.Usage, ",") != strings.Join(tt.want.Usage, ",") {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if err := got.Check(); (err != nil) != tt.checkFail || (err != nil && !errors.Is(err, xks.ErrKeyConfiguration)) {
				t.Errorf("Check() = %v, want failure %v", err, tt.checkFail)
			}
		})
	}
}

func TestGetHealthStatus(t *testing.T) {
	e := newEnv(t, true, nil)
	h, err := e.client.GetHealthStatus(context.Background(), xks.RequestMetadata{KMSOperation: "KmsHealthCheck", KMSRequestID: "1124f4d6-db54-4af4-ae30-c55a22a8abcd"})
	if err != nil {
		t.Fatal(err)
	}
	if h.ProxyFleetSize != 1 || h.ProxyVendor != "Trent" || h.EKMVendor != "Trent" || len(h.EKMs) != 1 || h.EKMs[0].Health != xks.EKMActive || !h.Available() {
		t.Errorf("health = %+v", h)
	}
	e.proxy.SetEKMHealth(xks.EKMUnavailable)
	h, err = e.client.GetHealthStatus(context.Background(), xks.RequestMetadata{KMSOperation: "ConnectCustomKeyStore", KMSRequestID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Available() || h.EKMs[0].Health != xks.EKMUnavailable {
		t.Errorf("health = %+v, want unavailable", h)
	}
	if _, err := e.client.Encrypt(context.Background(), "enabled", md("Encrypt"), []byte("x"), nil); !errors.Is(err, xks.ErrInternal) {
		t.Errorf("Encrypt with the key manager unavailable: %v, want ErrInternal", err)
	}
}

// TestProxyErrors checks that each failure comes back as the specification's
// error name and status, matched by its sentinel.
func TestProxyErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true, nil)
	ct, err := e.client.Encrypt(ctx, "enabled", md("Encrypt"), []byte("secret data"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	vct, err := e.client.Encrypt(ctx, "versioned", md("Encrypt"), []byte("secret data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := func(b []byte) []byte { b = bytes.Clone(b); b[0] ^= 1; return b }
	wrongSecret := e.clientWith(t, func(c *xks.Config) { c.Credential.Secret = cred2.Secret })
	unknownKey := e.clientWith(t, func(c *xks.Config) { c.Credential = cred2 })
	wrongRegion := e.clientWith(t, func(c *xks.Config) { c.Region = "eu-west-1" })
	wrongPath := e.clientWith(t, func(c *xks.Config) { c.URIPath = "/other/prefix/kms/xks/v1" })
	skewed := e.clientWith(t, func(c *xks.Config) { c.Now = func() time.Time { return time.Now().Add(-6 * time.Minute) } })

	tests := []struct {
		name   string
		call   func() error
		want   error
		status int
	}{
		{name: "wrong AAD", call: func() error {
			_, err := e.client.Decrypt(ctx, "enabled", md("Decrypt"), ct, []byte("other"))
			return err
		}, want: xks.ErrInvalidCiphertext, status: 400},
		{name: "missing AAD", call: func() error { _, err := e.client.Decrypt(ctx, "enabled", md("Decrypt"), ct, nil); return err }, want: xks.ErrInvalidCiphertext, status: 400},
		{name: "tampered ciphertext", call: func() error {
			c := ct
			c.Ciphertext = flipped(ct.Ciphertext)
			_, err := e.client.Decrypt(ctx, "enabled", md("Decrypt"), c, []byte("aad"))
			return err
		}, want: xks.ErrInvalidCiphertext, status: 400},
		{name: "tampered ciphertext metadata", call: func() error {
			c := vct
			c.Metadata = flipped(vct.Metadata)
			_, err := e.client.Decrypt(ctx, "versioned", md("Decrypt"), c, nil)
			return err
		}, want: xks.ErrInvalidCiphertext, status: 400},
		{name: "ciphertext metadata passed as AAD", call: func() error {
			c := vct
			c.Metadata = nil
			_, err := e.client.Decrypt(ctx, "versioned", md("Decrypt"), c, vct.Metadata)
			return err
		}, want: xks.ErrInvalidCiphertext, status: 400},
		{name: "other key", call: func() error {
			_, err := e.client.Decrypt(ctx, "versioned", md("Decrypt"), ct, []byte("aad"))
			return err
		}, want: xks.ErrInvalidCiphertext, status: 400},
		{name: "disabled key encrypt", call: func() error { _, err := e.client.Encrypt(ctx, "disabled", md("Encrypt"), []byte("x"), nil); return err }, want: xks.ErrInvalidState, status: 400},
		{name: "disabled key decrypt", call: func() error { _, err := e.client.Decrypt(ctx, "disabled", md("Decrypt"), ct, nil); return err }, want: xks.ErrInvalidState, status: 400},
		{name: "unknown key", call: func() error { _, err := e.client.Encrypt(ctx, "nope", md("Encrypt"), []byte("x"), nil); return err }, want: xks.ErrKeyNotFound, status: 404},
		{name: "unknown key metadata", call: func() error { _, err := e.client.GetKeyMetadata(ctx, "nope", md("CreateKey")); return err }, want: xks.ErrKeyNotFound, status: 404},
		{name: "key usage", call: func() error { _, err := e.client.Encrypt(ctx, "signonly", md("Encrypt"), []byte("x"), nil); return err }, want: xks.ErrInvalidKeyUsage, status: 400},
		{name: "bad signature", call: func() error { _, err := wrongSecret.GetHealthStatus(ctx, md("KmsHealthCheck")); return err }, want: xks.ErrAuthenticationFailed, status: 401},
		{name: "unknown access key", call: func() error {
			_, err := unknownKey.Encrypt(ctx, "enabled", md("Encrypt"), []byte("x"), nil)
			return err
		}, want: xks.ErrAuthenticationFailed, status: 401},
		{name: "wrong region", call: func() error { _, err := wrongRegion.GetHealthStatus(ctx, md("KmsHealthCheck")); return err }, want: xks.ErrAuthenticationFailed, status: 401},
		{name: "clock skew", call: func() error { _, err := skewed.GetHealthStatus(ctx, md("KmsHealthCheck")); return err }, want: xks.ErrAuthenticationFailed, status: 401},
		{name: "wrong path prefix", call: func() error { _, err := wrongPath.GetHealthStatus(ctx, md("KmsHealthCheck")); return err }, want: xks.ErrInvalidURIPath, status: 404},
		{name: "wrong path prefix key op", call: func() error { _, err := wrongPath.Encrypt(ctx, "enabled", md("Encrypt"), []byte("x"), nil); return err }, want: xks.ErrInvalidURIPath, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var xe *xks.Error
			if !errors.As(err, &xe) || xe.Status != tt.status || xe.Status != xe.Code.HTTPStatus() {
				t.Fatalf("err = %#v, want an *xks.Error with status %d", err, tt.status)
			}
			if strings.Contains(err.Error(), cred.Secret) || strings.Contains(err.Error(), cred2.Secret) {
				t.Fatal("error leaks a secret")
			}
		})
	}
}

// TestCredentialRotation follows the specification's rotation steps.
func TestCredentialRotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, nil)
	next := e.clientWith(t, func(c *xks.Config) { c.Credential = cred2 })
	if err := e.proxy.SetCredentials([]xks.Credential{cred, cred2}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*xks.Client{e.client, next} {
		if _, err := c.GetHealthStatus(ctx, md("UpdateCustomKeyStore")); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.proxy.SetCredentials([]xks.Credential{cred2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetHealthStatus(ctx, md("KmsHealthCheck")); !errors.Is(err, xks.ErrAuthenticationFailed) {
		t.Errorf("old credential: %v", err)
	}
	if _, err := next.GetHealthStatus(ctx, md("KmsHealthCheck")); err != nil {
		t.Errorf("new credential: %v", err)
	}
}

// rewriteJSON returns a wrapper that lets the proxy answer, then applies f
// to the decoded JSON response before sending it on.
func rewriteJSON(f func(m map[string]any)) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				panic(err)
			}
			f(m)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			_ = json.NewEncoder(w).Encode(m)
		})
	}
}

func flipB64(m map[string]any, field string) {
	b, _ := base64.StdEncoding.DecodeString(m[field].(string))
	b[len(b)-1] ^= 0x80
	m[field] = base64.StdEncoding.EncodeToString(b)
}

// TestInvalidResponses checks that the client rejects answers that break
// the specification, the CDIV check among them.
func TestInvalidResponses(t *testing.T) {
	tests := []struct {
		name string
		f    func(m map[string]any)
		want error
	}{
		{name: "CDIV mismatch", f: func(m map[string]any) { flipB64(m, "ciphertextDataIntegrityValue") }, want: xks.ErrCDIVMismatch},
		{name: "ciphertext flipped in transit", f: func(m map[string]any) { flipB64(m, "ciphertext") }, want: xks.ErrCDIVMismatch},
		{name: "tag flipped in transit", f: func(m map[string]any) { flipB64(m, "authenticationTag") }, want: xks.ErrCDIVMismatch},
		{name: "no CDIV", f: func(m map[string]any) { delete(m, "ciphertextDataIntegrityValue") }, want: xks.ErrInvalidResponse},
		{name: "short IV", f: func(m map[string]any) { m["initializationVector"] = "AAAA" }, want: xks.ErrInvalidResponse},
		{name: "no tag", f: func(m map[string]any) { delete(m, "authenticationTag") }, want: xks.ErrInvalidResponse},
		{name: "long ciphertext metadata", f: func(m map[string]any) {
			m["ciphertextMetadata"] = base64.StdEncoding.EncodeToString(make([]byte, 21))
		}, want: xks.ErrInvalidResponse},
		{name: "ciphertext not Base64", f: func(m map[string]any) { m["ciphertext"] = "!!" }, want: xks.ErrInvalidResponse},
		{name: "ciphertext longer than plaintext", f: func(m map[string]any) { m["ciphertext"] = base64.StdEncoding.EncodeToString(make([]byte, 40)) }, want: xks.ErrInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false, rewriteJSON(tt.f))
			_, err := e.client.Encrypt(context.Background(), "enabled", md("GenerateDataKey"), bytes.Repeat([]byte{9}, 32), []byte("aad"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestMalformedErrors checks error answers without a usable errorName.
func TestMalformedErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    error
		wantMsg string
	}{
		{name: "plain text 500", status: 500, body: "oops", want: xks.ErrInvalidResponse},
		{name: "unknown errorName", status: 400, body: `{"errorName":"BogusException"}`, want: xks.ErrInvalidResponse},
		{name: "redirect", status: 302, body: "", want: xks.ErrInvalidResponse},
		{name: "throttling", status: 429, body: `{"errorName":"ThrottlingException"}`, want: xks.ErrThrottling},
		{name: "dependency timeout", status: 503, body: `{"errorName":"DependencyTimeoutException"}`, want: xks.ErrDependencyTimeout},
		{name: "access denied", status: 403, body: `{"errorName":"AccessDeniedException"}`, want: xks.ErrAccessDenied},
		{name: "unsupported", status: 501, body: `{"errorName":"UnsupportedOperationException"}`, want: xks.ErrUnsupportedOperation},
		{name: "message sanitized", status: 500, body: `{"errorName":"InternalException","errorMessage":"line1\nline2\u0007"}`, want: xks.ErrInternal, wantMsg: "line1line2"},
		{name: "malformed 200", status: 200, body: `{"plaintext":`, want: xks.ErrInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, err := xks.New(xks.Config{Endpoint: srv.URL, URIPath: uriPath, Region: region, Credential: cred, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetKeyMetadata(context.Background(), "k", md("DescribeKey"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var xe *xks.Error
			if tt.wantMsg != "" && (!errors.As(err, &xe) || xe.Message != tt.wantMsg) {
				t.Errorf("err = %#v, want message %q", err, tt.wantMsg)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		c, err := xks.New(xks.Config{Endpoint: srv.URL, URIPath: uriPath, Region: region, Credential: cred, Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetHealthStatus(ctx, md("KmsHealthCheck")); !errors.Is(err, xks.ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.GetHealthStatus(cctx, md("KmsHealthCheck")); !errors.Is(err, context.Canceled) || errors.Is(err, xks.ErrTimeout) {
			t.Fatalf("cancelled: err = %v, want context.Canceled", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, err := xks.New(xks.Config{Endpoint: "http://" + addr, URIPath: uriPath, Region: region, Credential: cred, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetHealthStatus(ctx, md("KmsHealthCheck")); !errors.Is(err, xks.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		e := newEnv(t, true, nil)
		c := e.clientWith(t, func(c *xks.Config) { c.HTTPClient = nil })
		if _, err := c.GetHealthStatus(ctx, md("KmsHealthCheck")); !errors.Is(err, xks.ErrTLS) {
			t.Fatalf("err = %v, want ErrTLS", err)
		}
	})
}

func TestNewValidation(t *testing.T) {
	good := xks.Config{Endpoint: "https://xks.example.com", URIPath: uriPath, Region: region, Credential: cred}
	tests := []struct {
		name   string
		change func(*xks.Config)
		ok     bool
	}{
		{name: "good", change: func(*xks.Config) {}, ok: true},
		{name: "port", change: func(c *xks.Config) { c.Endpoint = "https://xks.example.com:8443" }, ok: true},
		{name: "no prefix", change: func(c *xks.Config) { c.URIPath = "/kms/xks/v1" }, ok: true},
		{name: "http loopback", change: func(c *xks.Config) { c.Endpoint = "http://127.0.0.1:8080" }, ok: true},
		{name: "http localhost", change: func(c *xks.Config) { c.Endpoint = "http://localhost:8080" }, ok: true},
		{name: "http remote", change: func(c *xks.Config) { c.Endpoint = "http://xks.example.com" }},
		{name: "endpoint with path", change: func(c *xks.Config) { c.Endpoint = "https://xks.example.com/kms" }},
		{name: "endpoint with user", change: func(c *xks.Config) { c.Endpoint = "https://u:p@xks.example.com" }},
		{name: "path without suffix", change: func(c *xks.Config) { c.URIPath = "/example/prefix" }},
		{name: "path bad character", change: func(c *xks.Config) { c.URIPath = "/ex.ample/kms/xks/v1" }},
		{name: "path empty segment", change: func(c *xks.Config) { c.URIPath = "/a//kms/xks/v1" }},
		{name: "path too long", change: func(c *xks.Config) { c.URIPath = "/" + strings.Repeat("a", 118) + "/kms/xks/v1" }},
		{name: "short access key id", change: func(c *xks.Config) { c.Credential.AccessKeyID = "AKIA" }},
		{name: "lower-case access key id", change: func(c *xks.Config) { c.Credential.AccessKeyID = "akiai2sfodnn7example" }},
		{name: "short secret", change: func(c *xks.Config) { c.Credential.Secret = "abc" }},
		{name: "secret bad character", change: func(c *xks.Config) { c.Credential.Secret = strings.Repeat("a", 42) + "!" }},
		{name: "no region", change: func(c *xks.Config) { c.Region = "" }},
		{name: "negative timeout", change: func(c *xks.Config) { c.Timeout = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			_, err := xks.New(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v, want ok %v", err, tt.ok)
			}
			if err != nil && (!errors.Is(err, xks.ErrInvalidArgument) || strings.Contains(err.Error(), cred.Secret)) {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// TestArgumentLimits checks the limits the client enforces before sending.
func TestArgumentLimits(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, nil)
	ct := xks.Ciphertext{Ciphertext: []byte("x"), IV: make([]byte, 12), Tag: make([]byte, 16)}
	noPrincipal := md("Encrypt")
	noPrincipal.AWSPrincipalARN = ""
	longARN := md("Encrypt")
	longARN.KMSKeyARN = strings.Repeat("a", xks.MaxARNLength+1)
	tests := []struct {
		name string
		call func() error
	}{
		{name: "key id too long", call: func() error {
			_, err := e.client.Encrypt(ctx, strings.Repeat("k", 129), md("Encrypt"), []byte("x"), nil)
			return err
		}},
		{name: "key id bad character", call: func() error { _, err := e.client.GetKeyMetadata(ctx, "a/b", md("CreateKey")); return err }},
		{name: "key id dot dot", call: func() error { _, err := e.client.GetKeyMetadata(ctx, "..", md("CreateKey")); return err }},
		{name: "plaintext too long", call: func() error {
			_, err := e.client.Encrypt(ctx, "enabled", md("Encrypt"), make([]byte, xks.MaxPlaintextSize+1), nil)
			return err
		}},
		{name: "empty plaintext", call: func() error { _, err := e.client.Encrypt(ctx, "enabled", md("Encrypt"), nil, nil); return err }},
		{name: "AAD too long", call: func() error {
			_, err := e.client.Encrypt(ctx, "enabled", md("Encrypt"), []byte("x"), make([]byte, xks.MaxAADSize+1))
			return err
		}},
		{name: "ciphertext metadata too long", call: func() error {
			c := ct
			c.Metadata = make([]byte, 21)
			_, err := e.client.Decrypt(ctx, "enabled", md("Decrypt"), c, nil)
			return err
		}},
		{name: "IV wrong size", call: func() error {
			c := ct
			c.IV = make([]byte, 13)
			_, err := e.client.Decrypt(ctx, "enabled", md("Decrypt"), c, nil)
			return err
		}},
		{name: "missing principal", call: func() error { _, err := e.client.Encrypt(ctx, "enabled", noPrincipal, []byte("x"), nil); return err }},
		{name: "ARN too long", call: func() error { _, err := e.client.Encrypt(ctx, "enabled", longARN, []byte("x"), nil); return err }},
		{name: "health without request id", call: func() error {
			_, err := e.client.GetHealthStatus(ctx, xks.RequestMetadata{KMSOperation: "KmsHealthCheck"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, xks.ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestCredentialRedacted(t *testing.T) {
	cfg := xks.Config{Endpoint: "https://xks.example.com", URIPath: uriPath, Region: region, Credential: cred}
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cred), fmt.Sprintf("%#v", cred), fmt.Sprintf("%s", cred)} {
		if strings.Contains(s, cred.Secret) {
			t.Errorf("secret in %q", s)
		}
	}
}

// signedRequest returns a request to the proxy signed with aws-sdk-go-v2's
// signer, for bodies the client would never send.
func signedRequest(t testing.TB, method, url, contentType string, body []byte, c xks.Credential, at time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	n := r.ContentLength
	r.ContentLength = 0 // sign host and x-amz-date only, as KMS does
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.Secret},
		r, hex.EncodeToString(sum[:]), xks.Service, region, at); err != nil {
		t.Fatal(err)
	}
	r.ContentLength = n
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

type rawResult struct {
	status    int
	errorName string
	body      []byte
}

func rawCall(t *testing.T, e *env, method, path, contentType string, body []byte) rawResult {
	t.Helper()
	r := signedRequest(t, method, e.srv.URL+path, contentType, body, cred, time.Now())
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er struct {
		ErrorName string `json:"errorName"`
	}
	_ = json.Unmarshal(b, &er)
	return rawResult{status: resp.StatusCode, errorName: er.ErrorName, body: b}
}
