package xks

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/trace"
)

// Config describes one external key store's proxy, as KMS's
// CreateCustomKeyStore does.
type Config struct {
	// Endpoint is XksProxyUriEndpoint: "https://host" or
	// "https://host:port", with no path. "http://" is accepted only for a
	// loopback host (localhost, 127.0.0.0/8, ::1), for tests.
	Endpoint string
	// URIPath is XksProxyUriPath: an optional prefix followed by
	// "/kms/xks/v1", e.g. "/example/prefix/kms/xks/v1"; at most 128
	// characters from A-Z a-z 0-9 / - _, with no empty segment or trailing
	// slash.
	URIPath string
	// Credential is XksProxyAuthenticationCredential.
	Credential Credential
	// Region is the key store's region, the SigV4 region of every request
	// (the service is always "kms-xks-proxy").
	Region string

	// HTTPClient carries the TLS configuration (trusted roots, client
	// certificate for mTLS). nil: a client that requires TLS 1.2 or later
	// and trusts the system roots. Redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each call, connection and TLS handshake included.
	// 0: DefaultTimeout (250ms, what KMS allows).
	Timeout time.Duration
	// Now is the signing clock. nil: time.Now.
	Now func() time.Time
}

// Client calls one XKS proxy. It is safe for concurrent use.
type Client struct {
	base    string // endpoint + URIPath
	region  string
	cred    *credential
	hc      *http.Client
	timeout time.Duration
	now     func() time.Time
}

// maxRequestSize and maxResponseSize bound bodies far above what the
// specification's limits produce (about 30 KiB for an Encrypt request with
// every field at its maximum; a Decrypt response of 4300 bytes is under 6
// KiB), so that a misbehaving proxy cannot make the client buffer much.
const (
	maxRequestSize  = 64 << 10
	maxResponseSize = 64 << 10
)

// New validates c and returns a Client. It does not contact the proxy;
// call GetHealthStatus to check the configuration end to end.
func New(c Config) (*Client, error) {
	base, err := checkEndpoint(c.Endpoint)
	if err != nil {
		return nil, err
	}
	if err := checkURIPath(c.URIPath); err != nil {
		return nil, err
	}
	if err := c.Credential.Validate(); err != nil {
		return nil, err
	}
	if !validRegion(c.Region) {
		return nil, fmt.Errorf("%w: region %q", ErrInvalidArgument, c.Region)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative timeout", ErrInvalidArgument)
	}
	cl := &Client{
		base:    base + c.URIPath,
		region:  c.Region,
		cred:    newCredential(c.Credential),
		timeout: c.Timeout,
		now:     c.Now,
	}
	if cl.timeout == 0 {
		cl.timeout = DefaultTimeout
	}
	if cl.now == nil {
		cl.now = time.Now
	}
	var hc http.Client
	if c.HTTPClient != nil {
		hc = *c.HTTPClient
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		hc.Transport = tr
	}
	// A redirect is not part of the API; following one would send a signed
	// request elsewhere. The 3xx comes back as an invalid response.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cl.hc = &hc
	return cl, nil
}

func checkEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: endpoint is not a URL", ErrInvalidArgument)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: endpoint must be scheme://host[:port] with no path, query or user info", ErrInvalidArgument)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("%w: endpoint must use https (http only for a loopback host)", ErrInvalidArgument)
		}
	default:
		return "", fmt.Errorf("%w: endpoint must use https", ErrInvalidArgument)
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkURIPath(p string) error {
	if len(p) > MaxURIPathLength || !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, APIPathSuffix) {
		return fmt.Errorf("%w: URI path must be at most %d characters and end in %s", ErrInvalidArgument, MaxURIPathLength, APIPathSuffix)
	}
	if strings.Contains(p, "//") {
		return fmt.Errorf("%w: URI path has an empty segment", ErrInvalidArgument)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '-' || c == '_') {
			return fmt.Errorf("%w: URI path may only contain A-Z a-z 0-9 / - _", ErrInvalidArgument)
		}
	}
	return nil
}

func validRegion(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Wire messages, member names as in the specification. []byte members are
// standard Base64 in JSON; a nil slice is an absent member.
type (
	healthRequest struct {
		RequestMetadata healthMetadata `json:"requestMetadata"`
	}
	healthMetadata struct {
		KMSRequestID string `json:"kmsRequestId"`
		KMSOperation string `json:"kmsOperation"`
	}
	healthResponse struct {
		XKSProxyFleetSize int    `json:"xksProxyFleetSize"`
		XKSProxyVendor    string `json:"xksProxyVendor"`
		XKSProxyModel     string `json:"xksProxyModel"`
		EKMVendor         string `json:"ekmVendor"`
		EKMFleetDetails   []struct {
			ID           string `json:"id"`
			Model        string `json:"model"`
			HealthStatus string `json:"healthStatus"`
		} `json:"ekmFleetDetails"`
	}
	metadataRequest struct {
		RequestMetadata *RequestMetadata `json:"requestMetadata"`
	}
	metadataResponse struct {
		KeySpec   string   `json:"keySpec"`
		KeyUsage  []string `json:"keyUsage"`
		KeyStatus string   `json:"keyStatus"`
	}
	encryptRequest struct {
		RequestMetadata     *RequestMetadata `json:"requestMetadata"`
		AAD                 []byte           `json:"additionalAuthenticatedData,omitempty"`
		Plaintext           []byte           `json:"plaintext"`
		EncryptionAlgorithm string           `json:"encryptionAlgorithm"`
		CDIVAlgorithm       string           `json:"ciphertextDataIntegrityValueAlgorithm,omitempty"`
	}
	encryptResponse struct {
		Ciphertext         []byte `json:"ciphertext"`
		CiphertextMetadata []byte `json:"ciphertextMetadata"`
		IV                 []byte `json:"initializationVector"`
		Tag                []byte `json:"authenticationTag"`
		CDIV               []byte `json:"ciphertextDataIntegrityValue"`
	}
	decryptRequest struct {
		RequestMetadata     *RequestMetadata `json:"requestMetadata"`
		Ciphertext          []byte           `json:"ciphertext"`
		CiphertextMetadata  []byte           `json:"ciphertextMetadata,omitempty"`
		EncryptionAlgorithm string           `json:"encryptionAlgorithm"`
		AAD                 []byte           `json:"additionalAuthenticatedData,omitempty"`
		Tag                 []byte           `json:"authenticationTag"`
		IV                  []byte           `json:"initializationVector"`
	}
	decryptResponse struct {
		Plaintext []byte `json:"plaintext"`
	}
	errorResponse struct {
		ErrorName    string `json:"errorName"`
		ErrorMessage string `json:"errorMessage,omitempty"`
	}
)

// GetHealthStatus calls the proxy's health API. Only md.KMSOperation (e.g.
// "CreateCustomKeyStore", "KmsHealthCheck") and md.KMSRequestID are sent.
// A successful call proves the endpoint, path, credential and region are
// right; HealthStatus.Available says whether a key manager can serve.
func (c *Client) GetHealthStatus(ctx context.Context, md RequestMetadata) (HealthStatus, error) {
	if err := md.Check(OpGetHealthStatus); err != nil {
		return HealthStatus{}, fmt.Errorf("xks: health status: %w", err)
	}
	var resp healthResponse
	req := healthRequest{RequestMetadata: healthMetadata{KMSRequestID: md.KMSRequestID, KMSOperation: md.KMSOperation}}
	if err := c.call(ctx, "/health", req, &resp); err != nil {
		return HealthStatus{}, fmt.Errorf("xks: health status: %w", err)
	}
	h, err := resp.decode()
	if err != nil {
		return HealthStatus{}, fmt.Errorf("xks: health status: %w", err)
	}
	return h, nil
}

func (r *healthResponse) decode() (HealthStatus, error) {
	switch {
	case r.XKSProxyFleetSize < 1:
		return HealthStatus{}, fmt.Errorf("%w: xksProxyFleetSize must be greater than zero", ErrInvalidResponse)
	case r.XKSProxyVendor == "", r.XKSProxyModel == "", r.EKMVendor == "":
		return HealthStatus{}, fmt.Errorf("%w: missing xksProxyVendor, xksProxyModel or ekmVendor", ErrInvalidResponse)
	case len(r.EKMFleetDetails) < 1 || len(r.EKMFleetDetails) > MaxEKMs:
		return HealthStatus{}, fmt.Errorf("%w: ekmFleetDetails must have 1 to %d entries, has %d", ErrInvalidResponse, MaxEKMs, len(r.EKMFleetDetails))
	}
	h := HealthStatus{
		ProxyFleetSize: r.XKSProxyFleetSize,
		ProxyVendor:    r.XKSProxyVendor,
		ProxyModel:     r.XKSProxyModel,
		EKMVendor:      r.EKMVendor,
		EKMs:           make([]EKM, len(r.EKMFleetDetails)),
	}
	for i, e := range r.EKMFleetDetails {
		st, ok := ParseEKMHealth(e.HealthStatus)
		if !ok || e.ID == "" {
			return HealthStatus{}, fmt.Errorf("%w: ekmFleetDetails[%d] has no id or an unknown healthStatus", ErrInvalidResponse, i)
		}
		h.EKMs[i] = EKM{ID: e.ID, Model: e.Model, Health: st}
	}
	return h, nil
}

// GetKeyMetadata returns the spec, usage and status of the external key
// keyID. md needs AWSPrincipalARN, KMSOperation (e.g. "CreateKey") and
// KMSRequestID; KMSKeyARN is optional. Use KeyMetadata.Check before
// creating a KMS key on it.
func (c *Client) GetKeyMetadata(ctx context.Context, keyID string, md RequestMetadata) (KeyMetadata, error) {
	if err := checkKeyCall(keyID, &md, OpGetKeyMetadata); err != nil {
		return KeyMetadata{}, fmt.Errorf("xks: key metadata of %s: %w", keyID, err)
	}
	var resp metadataResponse
	if err := c.call(ctx, keyPath(keyID, "metadata"), metadataRequest{&md}, &resp); err != nil {
		return KeyMetadata{}, fmt.Errorf("xks: key metadata of %s: %w", keyID, err)
	}
	st, ok := ParseKeyStatus(resp.KeyStatus)
	switch {
	case resp.KeySpec == "" || resp.KeyUsage == nil || !ok:
		return KeyMetadata{}, fmt.Errorf("xks: key metadata of %s: %w: missing keySpec or keyUsage, or unknown keyStatus", keyID, ErrInvalidResponse)
	case len(resp.KeyUsage) > MaxKeyUsages:
		return KeyMetadata{}, fmt.Errorf("xks: key metadata of %s: %w: more than %d keyUsage values", keyID, ErrInvalidResponse, MaxKeyUsages)
	}
	return KeyMetadata{KeySpec: resp.KeySpec, Usage: resp.KeyUsage, Status: st}, nil
}

// Encrypt encrypts plaintext (1 to 4300 bytes) under the external key
// keyID with AES-GCM, binding aad (at most 8192 bytes; nil or empty:
// none). md needs AWSPrincipalARN, KMSKeyARN, KMSOperation and
// KMSRequestID.
//
// The client always asks for a SHA_256 ciphertext data integrity value and
// checks it (Appendix C) together with the sizes of every returned field:
// a nil error means the proxy vouched that Decrypt of the result with the
// same aad returns plaintext. A mismatch is ErrCDIVMismatch. The returned
// slices are the caller's.
func (c *Client) Encrypt(ctx context.Context, keyID string, md RequestMetadata, plaintext, aad []byte) (Ciphertext, error) {
	if err := checkKeyCall(keyID, &md, OpEncrypt); err != nil {
		return Ciphertext{}, fmt.Errorf("xks: encrypt with %s: %w", keyID, err)
	}
	if len(plaintext) == 0 || len(plaintext) > MaxPlaintextSize || len(aad) > MaxAADSize {
		return Ciphertext{}, fmt.Errorf("xks: encrypt with %s: %w: plaintext must have 1 to %d bytes and AAD at most %d", keyID, ErrInvalidArgument, MaxPlaintextSize, MaxAADSize)
	}
	req := encryptRequest{
		RequestMetadata:     &md,
		AAD:                 nonEmpty(aad),
		Plaintext:           plaintext,
		EncryptionAlgorithm: EncryptionAlgorithm,
		CDIVAlgorithm:       CDIVAlgorithm,
	}
	var resp encryptResponse
	if err := c.call(ctx, keyPath(keyID, "encrypt"), req, &resp); err != nil {
		return Ciphertext{}, fmt.Errorf("xks: encrypt with %s: %w", keyID, err)
	}
	ct := Ciphertext{Ciphertext: resp.Ciphertext, Metadata: resp.CiphertextMetadata, IV: resp.IV, Tag: resp.Tag}
	if err := checkCiphertext(&ct, len(plaintext)); err != nil {
		return Ciphertext{}, fmt.Errorf("xks: encrypt with %s: %w", keyID, err)
	}
	if resp.CDIV == nil {
		return Ciphertext{}, fmt.Errorf("xks: encrypt with %s: %w: no ciphertextDataIntegrityValue", keyID, ErrInvalidResponse)
	}
	want := CDIV(aad, ct)
	if subtle.ConstantTimeCompare(want[:], resp.CDIV) != 1 {
		return Ciphertext{}, fmt.Errorf("xks: encrypt with %s: %w", keyID, ErrCDIVMismatch)
	}
	return ct, nil
}

// checkCiphertext checks the sizes the specification fixes; n is the
// plaintext length.
func checkCiphertext(ct *Ciphertext, n int) error {
	switch {
	case ct.Ciphertext == nil || ct.IV == nil || ct.Tag == nil:
		return fmt.Errorf("%w: missing ciphertext, initializationVector or authenticationTag", ErrInvalidResponse)
	case len(ct.Ciphertext) != n:
		return fmt.Errorf("%w: ciphertext has %d bytes, plaintext %d", ErrInvalidResponse, len(ct.Ciphertext), n)
	case len(ct.IV) != 12 && len(ct.IV) != 16:
		return fmt.Errorf("%w: initializationVector has %d bytes, not 12 or 16", ErrInvalidResponse, len(ct.IV))
	case len(ct.Tag) != TagSize:
		return fmt.Errorf("%w: authenticationTag has %d bytes, not %d", ErrInvalidResponse, len(ct.Tag), TagSize)
	case len(ct.Metadata) > MaxCiphertextMetadataSize:
		return fmt.Errorf("%w: ciphertextMetadata has %d bytes, more than %d", ErrInvalidResponse, len(ct.Metadata), MaxCiphertextMetadataSize)
	}
	return nil
}

// Decrypt decrypts ct under the external key keyID; aad must be what
// Encrypt was given. md needs AWSPrincipalARN, KMSKeyARN, KMSOperation and
// KMSRequestID. A ciphertext that does not authenticate is
// ErrInvalidCiphertext. The caller owns the plaintext and should clear it
// when done.
func (c *Client) Decrypt(ctx context.Context, keyID string, md RequestMetadata, ct Ciphertext, aad []byte) ([]byte, error) {
	if err := checkKeyCall(keyID, &md, OpDecrypt); err != nil {
		return nil, fmt.Errorf("xks: decrypt with %s: %w", keyID, err)
	}
	switch {
	case len(ct.Ciphertext) == 0 || len(ct.Ciphertext) > MaxPlaintextSize || len(aad) > MaxAADSize:
		return nil, fmt.Errorf("xks: decrypt with %s: %w: ciphertext must have 1 to %d bytes and AAD at most %d", keyID, ErrInvalidArgument, MaxPlaintextSize, MaxAADSize)
	case len(ct.IV) != 12 && len(ct.IV) != 16, len(ct.Tag) != TagSize, len(ct.Metadata) > MaxCiphertextMetadataSize:
		return nil, fmt.Errorf("xks: decrypt with %s: %w: IV must have 12 or 16 bytes, tag 16, ciphertext metadata at most %d", keyID, ErrInvalidArgument, MaxCiphertextMetadataSize)
	}
	req := decryptRequest{
		RequestMetadata:     &md,
		Ciphertext:          ct.Ciphertext,
		CiphertextMetadata:  nonEmpty(ct.Metadata),
		EncryptionAlgorithm: EncryptionAlgorithm,
		AAD:                 nonEmpty(aad),
		Tag:                 ct.Tag,
		IV:                  ct.IV,
	}
	var resp decryptResponse
	if err := c.call(ctx, keyPath(keyID, "decrypt"), req, &resp); err != nil {
		return nil, fmt.Errorf("xks: decrypt with %s: %w", keyID, err)
	}
	if resp.Plaintext == nil || len(resp.Plaintext) != len(ct.Ciphertext) {
		clear(resp.Plaintext)
		return nil, fmt.Errorf("xks: decrypt with %s: %w: plaintext missing or not as long as the ciphertext", keyID, ErrInvalidResponse)
	}
	return resp.Plaintext, nil
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func checkKeyCall(keyID string, md *RequestMetadata, op Op) error {
	if !ValidKeyID(keyID) {
		return fmt.Errorf("%w: external key id must have 1 to %d characters from A-Z a-z 0-9 - . _", ErrInvalidArgument, MaxKeyIDLength)
	}
	return md.Check(op)
}

func keyPath(keyID, op string) string { return "/keys/" + keyID + "/" + op }

// call POSTs the JSON of in to path (below the URI path), signed, and
// decodes a 200 response into out. Request and response bodies, which may
// hold plaintext, are cleared before it returns.
func (c *Client) call(ctx context.Context, path string, in, out any) (err error) {
	// A span per proxy call when the request is traced: its path names the
	// operation and the XKS key id, neither secret; bodies are not recorded.
	ctx, sp := trace.Start(ctx, "xks."+path[strings.LastIndexByte(path, '/')+1:])
	if sp.Recording() {
		sp.String("url.path", path)
		defer func() {
			var xe *Error
			switch {
			case errors.As(err, &xe):
				sp.Fail(xe.Code.String())
			case err != nil:
				sp.Fail("XksProxyError")
			}
			sp.End()
		}()
	}
	uri := c.base + path
	if len(uri) > MaxURILength {
		return fmt.Errorf("%w: request URI longer than %d characters", ErrInvalidArgument, MaxURILength)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	defer clear(body)
	if len(body) > maxRequestSize {
		return fmt.Errorf("%w: request body of %d bytes", ErrInvalidArgument, len(body))
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	req.Header.Set("Content-Type", "application/json")
	sign(req, body, c.cred, c.region, c.now())
	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(parent, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	defer clear(data)
	if err != nil {
		return transportError(parent, err)
	}
	if len(data) > maxResponseSize {
		return fmt.Errorf("%w: response body larger than %d bytes", ErrInvalidResponse, maxResponseSize)
	}
	if resp.StatusCode != http.StatusOK {
		return responseError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		// The JSON error may quote the body; it holds no secret, but keep
		// plaintext out of errors all the same.
		return fmt.Errorf("%w: malformed JSON", ErrInvalidResponse)
	}
	return nil
}

// responseError turns an error response into an *Error, or into
// ErrInvalidResponse when it has no JSON errorName the specification knows.
func responseError(status int, data []byte) error {
	var er errorResponse
	if json.Unmarshal(data, &er) != nil || er.ErrorName == "" {
		return fmt.Errorf("%w: HTTP %d without a JSON errorName", ErrInvalidResponse, status)
	}
	code, ok := ParseCode(er.ErrorName)
	if !ok {
		return fmt.Errorf("%w: HTTP %d with unknown errorName %q", ErrInvalidResponse, status, sanitizeMessage(er.ErrorName))
	}
	return &Error{Code: code, Message: sanitizeMessage(er.ErrorMessage), Status: status}
}

// transportError classifies a failed exchange. A cancelled or expired
// parent context is the caller's and is returned as such.
func transportError(parent context.Context, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("xks: %w", perr)
	}
	var (
		ne       net.Error
		certErr  *tls.CertificateVerificationError
		alertErr tls.AlertError
		recErr   tls.RecordHeaderError
		uaErr    x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.As(err, &certErr), errors.As(err, &alertErr), errors.As(err, &recErr),
		errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}
