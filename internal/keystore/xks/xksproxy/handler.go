package xksproxy

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/sigv4"
)

// Request messages as the proxy reads them. []byte members are standard
// Base64; nil means absent. Unknown members are ignored: KMS may add
// requestMetadata fields (Appendix B).
type (
	metadata struct {
		AWSPrincipalARN string `json:"awsPrincipalArn"`
		AWSSourceVPC    string `json:"awsSourceVpc"`
		AWSSourceVPCE   string `json:"awsSourceVpce"`
		KMSKeyARN       string `json:"kmsKeyArn"`
		KMSOperation    string `json:"kmsOperation"`
		KMSRequestID    string `json:"kmsRequestId"`
		KMSViaService   string `json:"kmsViaService"`
	}
	keyRequest struct {
		RequestMetadata     *metadata `json:"requestMetadata"`
		Plaintext           []byte    `json:"plaintext"`
		Ciphertext          []byte    `json:"ciphertext"`
		CiphertextMetadata  []byte    `json:"ciphertextMetadata"`
		AAD                 []byte    `json:"additionalAuthenticatedData"`
		IV                  []byte    `json:"initializationVector"`
		Tag                 []byte    `json:"authenticationTag"`
		EncryptionAlgorithm *string   `json:"encryptionAlgorithm"`
		CDIVAlgorithm       *string   `json:"ciphertextDataIntegrityValueAlgorithm"`
	}
	healthRequest struct {
		RequestMetadata struct {
			KMSOperation string `json:"kmsOperation"`
			KMSRequestID string `json:"kmsRequestId"`
		} `json:"requestMetadata"`
	}
)

// apiError is an error answered to the caller.
type apiError struct {
	code xks.Code
	msg  string // printable ASCII, no secret, no plaintext
}

func fail(c xks.Code, msg string) *apiError { return &apiError{code: c, msg: msg} }

// route is a parsed request URI.
type route struct {
	op    xks.Op
	keyID string
}

// parseRoute maps the escaped path below the URI path to an operation.
func (p *Proxy) parseRoute(path string) (route, *apiError) {
	rest, ok := strings.CutPrefix(path, p.path)
	if !ok {
		return route{}, fail(xks.InvalidURIPath, "The request URI path is not served by this proxy.")
	}
	if rest == "/health" {
		return route{op: xks.OpGetHealthStatus}, nil
	}
	rest, ok = strings.CutPrefix(rest, "/keys/")
	if !ok {
		return route{}, fail(xks.InvalidURIPath, "Unknown API in the request URI path.")
	}
	id, opName, ok := strings.Cut(rest, "/")
	var op xks.Op
	switch opName {
	case "metadata":
		op = xks.OpGetKeyMetadata
	case "encrypt":
		op = xks.OpEncrypt
	case "decrypt":
		op = xks.OpDecrypt
	}
	if !ok || op == 0 || id == "" {
		return route{}, fail(xks.InvalidURIPath, "Unknown API in the request URI path.")
	}
	if !xks.ValidKeyID(id) {
		return route{}, fail(xks.Validation, "The external key id must have 1 to 128 characters from A-Z a-z 0-9 - . _")
	}
	return route{op: op, keyID: id}, nil
}

// ServeHTTP serves one XKS proxy API request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := p.now()
	var (
		rt  route
		md  metadata
		err *apiError
	)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		p.logRequest(r, rt, &md, fail(0, "method "+r.Method), start)
		return
	}
	body, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestSize))
	defer clear(body)
	var resp any
	switch {
	case rerr != nil:
		err = fail(xks.Validation, "The request body is too large or could not be read.")
	default:
		resp, err = p.serve(r, body, &rt, &md)
	}
	if err != nil {
		p.logRequest(r, rt, &md, err, start)
		writeJSON(w, err.code.HTTPStatus(), errorBody{ErrorName: err.code.String(), ErrorMessage: err.msg})
		return
	}
	p.logRequest(r, rt, &md, nil, start)
	writeJSON(w, http.StatusOK, resp)
	if d, ok := resp.(*decryptResponse); ok {
		clear(d.Plaintext)
	}
}

type errorBody struct {
	ErrorName    string `json:"errorName"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errorName":"InternalException"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	clear(b)
}

func (p *Proxy) logRequest(r *http.Request, rt route, md *metadata, err *apiError, start time.Time) {
	if p.log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", rt.op.String()),
		slog.String("key_id", rt.keyID),
		slog.String("kms_request_id", md.KMSRequestID),
		slog.String("kms_operation", md.KMSOperation),
		slog.String("aws_principal_arn", md.AWSPrincipalARN),
		slog.String("kms_key_arn", md.KMSKeyARN),
		slog.Duration("duration", p.now().Sub(start)),
	}
	if err != nil {
		name := "MethodNotAllowed"
		if err.code != 0 {
			name = err.code.String()
		}
		attrs = append(attrs, slog.String("error", name), slog.String("detail", err.msg))
	}
	p.log.LogAttrs(r.Context(), slog.LevelInfo, "xks proxy request", attrs...)
}

// serve authenticates, routes and runs a request.
func (p *Proxy) serve(r *http.Request, body []byte, rt *route, md *metadata) (any, *apiError) {
	res, verr := p.verify.Verify(r.Context(), r, body)
	if verr != nil {
		var se *sigv4.Error
		if errors.As(verr, &se) {
			return nil, fail(xks.AuthenticationFailed, se.Kind.String()+": "+printable(se.Message))
		}
		return nil, fail(xks.Internal, "Credential lookup failed.")
	}
	if res.Presigned {
		return nil, fail(xks.AuthenticationFailed, "Requests must be signed in the Authorization header.")
	}
	if r.URL.RawQuery != "" {
		return nil, fail(xks.InvalidURIPath, "The XKS proxy API has no query parameters.")
	}
	var err *apiError
	if *rt, err = p.parseRoute(r.URL.EscapedPath()); err != nil {
		return nil, err
	}
	if rt.op == xks.OpGetHealthStatus {
		// GetHealthStatus has no ValidationException: its body is
		// authenticated and only read for the log.
		var hr healthRequest
		if json.Unmarshal(body, &hr) == nil {
			md.KMSOperation, md.KMSRequestID = hr.RequestMetadata.KMSOperation, hr.RequestMetadata.KMSRequestID
		}
		return p.healthStatus()
	}
	if mt, _, merr := mime.ParseMediaType(r.Header.Get("Content-Type")); merr != nil || mt != "application/json" {
		return nil, fail(xks.Validation, "Content-Type must be application/json.")
	}
	var req keyRequest
	if json.Unmarshal(body, &req) != nil {
		// encoding/json errors may quote input; keep it out of the answer.
		return nil, fail(xks.Validation, "The request body is not a valid JSON request of this API.")
	}
	defer clear(req.Plaintext)
	if req.RequestMetadata == nil {
		return nil, fail(xks.Validation, "requestMetadata is required.")
	}
	*md = *req.RequestMetadata
	if err := checkMetadata(rt.op, md); err != nil {
		return nil, err
	}
	switch rt.op {
	case xks.OpGetKeyMetadata:
		return p.keyMetadata(rt.keyID)
	case xks.OpEncrypt:
		return p.encrypt(rt.keyID, &req)
	default:
		return p.decrypt(rt.keyID, &req)
	}
}

func checkMetadata(op xks.Op, md *metadata) *apiError {
	required := []struct{ name, v string }{
		{"awsPrincipalArn", md.AWSPrincipalARN}, {"kmsOperation", md.KMSOperation}, {"kmsRequestId", md.KMSRequestID},
	}
	if op != xks.OpGetKeyMetadata {
		required = append(required, struct{ name, v string }{"kmsKeyArn", md.KMSKeyARN})
	}
	for _, f := range required {
		if f.v == "" {
			return fail(xks.Validation, "requestMetadata."+f.name+" is required.")
		}
	}
	for _, f := range [...]struct{ name, v string }{
		{"awsPrincipalArn", md.AWSPrincipalARN}, {"kmsKeyArn", md.KMSKeyARN},
		{"awsSourceVpc", md.AWSSourceVPC}, {"awsSourceVpce", md.AWSSourceVPCE},
	} {
		if len(f.v) > xks.MaxARNLength {
			return fail(xks.Validation, "requestMetadata."+f.name+" is longer than 2048 characters.")
		}
	}
	return nil
}

// lookupKey returns the key id and its status under the read lock. The
// AEADs of a key never change and are safe for concurrent use.
func (p *Proxy) lookupKey(id string) (*key, xks.KeyStatus, *apiError) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ekm == xks.EKMUnavailable {
		return nil, 0, fail(xks.Internal, "The key manager is unavailable.")
	}
	k, ok := p.keys[id]
	if !ok {
		return nil, 0, fail(xks.KeyNotFound, "The external key is not found.")
	}
	return k, k.status, nil
}

type metadataResponse struct {
	KeySpec   string   `json:"keySpec"`
	KeyUsage  []string `json:"keyUsage"`
	KeyStatus string   `json:"keyStatus"`
}

func (p *Proxy) keyMetadata(id string) (any, *apiError) {
	k, st, err := p.lookupKey(id)
	if err != nil {
		return nil, err
	}
	u := []string{}
	if k.usage&UsageEncrypt != 0 {
		u = append(u, xks.UsageEncrypt)
	}
	if k.usage&UsageDecrypt != 0 {
		u = append(u, xks.UsageDecrypt)
	}
	if k.usage&UsageSign != 0 {
		u = append(u, "SIGN", "VERIFY")
	}
	return &metadataResponse{KeySpec: xks.KeySpecAES256, KeyUsage: u, KeyStatus: st.String()}, nil
}

// usable checks a key's status and usage for an operation.
func (p *Proxy) usable(id string, need Usage) (*key, *apiError) {
	k, st, err := p.lookupKey(id)
	if err != nil {
		return nil, err
	}
	if st != xks.KeyEnabled {
		return nil, fail(xks.InvalidState, "The external key is disabled.")
	}
	if k.usage&need == 0 {
		return nil, fail(xks.InvalidKeyUsage, "The external key does not support the requested operation.")
	}
	return k, nil
}

func checkAlgorithm(alg *string) *apiError {
	if alg == nil {
		return fail(xks.Validation, "encryptionAlgorithm is required.")
	}
	if *alg != xks.EncryptionAlgorithm {
		return fail(xks.Validation, "encryptionAlgorithm must be AES_GCM.")
	}
	return nil
}

type encryptResponse struct {
	Ciphertext         []byte `json:"ciphertext"`
	CiphertextMetadata []byte `json:"ciphertextMetadata,omitempty"`
	IV                 []byte `json:"initializationVector"`
	Tag                []byte `json:"authenticationTag"`
	CDIV               []byte `json:"ciphertextDataIntegrityValue,omitempty"`
}

func (p *Proxy) encrypt(id string, req *keyRequest) (any, *apiError) {
	switch {
	case req.Plaintext == nil:
		return nil, fail(xks.Validation, "plaintext is required.")
	case len(req.Plaintext) > xks.MaxPlaintextSize:
		return nil, fail(xks.UnsupportedOperation, "plaintext is longer than the 4300 bytes this proxy supports.")
	case len(req.AAD) > xks.MaxAADSize:
		return nil, fail(xks.UnsupportedOperation, "additionalAuthenticatedData is longer than the 8192 bytes this proxy supports.")
	case req.CDIVAlgorithm != nil && *req.CDIVAlgorithm != xks.CDIVAlgorithm:
		return nil, fail(xks.Validation, "ciphertextDataIntegrityValueAlgorithm must be SHA_256.")
	}
	if err := checkAlgorithm(req.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := p.usable(id, UsageEncrypt)
	if err != nil {
		return nil, err
	}
	ct, gerr := seal(k, p.rand, req.Plaintext, req.AAD)
	if gerr != nil {
		return nil, fail(xks.Internal, "The key manager could not encrypt.")
	}
	resp := &encryptResponse{Ciphertext: ct.Ciphertext, CiphertextMetadata: ct.Metadata, IV: ct.IV, Tag: ct.Tag}
	if req.CDIVAlgorithm != nil {
		// Appendix C: the CDIV is computed before the check decrypt, so a
		// corruption after it cannot be vouched for.
		sum := xks.CDIV(req.AAD, ct)
		resp.CDIV = sum[:]
		pt, oerr := open(k, ct, req.AAD)
		ok := oerr == nil && subtle.ConstantTimeCompare(pt, req.Plaintext) == 1
		clear(pt)
		if !ok {
			return nil, fail(xks.Internal, "The ciphertext did not decrypt to the plaintext.")
		}
	}
	return resp, nil
}

func seal(k *key, rnd io.Reader, plaintext, aad []byte) (xks.Ciphertext, error) {
	iv := make([]byte, 12)
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return xks.Ciphertext{}, err
	}
	out := k.gcm12.Seal(nil, iv, plaintext, xks.GCMAAD(aad, k.metadata))
	n := len(out) - xks.TagSize
	return xks.Ciphertext{
		Ciphertext: out[:n:n],
		Metadata:   k.metadata,
		IV:         iv,
		Tag:        out[n:],
	}, nil
}

func open(k *key, ct xks.Ciphertext, aad []byte) ([]byte, error) {
	var g cipher.AEAD
	switch len(ct.IV) {
	case 12:
		g = k.gcm12
	case 16:
		g = k.gcm16
	default:
		return nil, errors.New("bad IV size")
	}
	in := make([]byte, 0, len(ct.Ciphertext)+len(ct.Tag))
	in = append(append(in, ct.Ciphertext...), ct.Tag...)
	return g.Open(in[:0], ct.IV, in, xks.GCMAAD(aad, ct.Metadata))
}

type decryptResponse struct {
	Plaintext []byte `json:"plaintext"`
}

func (p *Proxy) decrypt(id string, req *keyRequest) (any, *apiError) {
	switch {
	case req.Ciphertext == nil || req.IV == nil || req.Tag == nil:
		return nil, fail(xks.Validation, "ciphertext, initializationVector and authenticationTag are required.")
	case len(req.Ciphertext) > xks.MaxPlaintextSize:
		return nil, fail(xks.UnsupportedOperation, "ciphertext is longer than the 4300 bytes this proxy supports.")
	case len(req.AAD) > xks.MaxAADSize:
		return nil, fail(xks.UnsupportedOperation, "additionalAuthenticatedData is longer than the 8192 bytes this proxy supports.")
	case len(req.IV) != 12 && len(req.IV) != 16:
		return nil, fail(xks.Validation, "initializationVector must have 12 or 16 bytes.")
	case len(req.Tag) != xks.TagSize:
		return nil, fail(xks.Validation, "authenticationTag must have 16 bytes.")
	case len(req.CiphertextMetadata) > xks.MaxCiphertextMetadataSize:
		return nil, fail(xks.Validation, "ciphertextMetadata is longer than 20 bytes.")
	}
	if err := checkAlgorithm(req.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := p.usable(id, UsageDecrypt)
	if err != nil {
		return nil, err
	}
	pt, oerr := open(k, xks.Ciphertext{Ciphertext: req.Ciphertext, Metadata: req.CiphertextMetadata, IV: req.IV, Tag: req.Tag}, req.AAD)
	if oerr != nil {
		return nil, fail(xks.InvalidCiphertext, "The request was rejected because the specified ciphertext, or additional authenticated data is corrupted, missing, or otherwise invalid.")
	}
	if pt == nil {
		pt = []byte{}
	}
	return &decryptResponse{Plaintext: pt}, nil
}

type ekmDetails struct {
	ID           string `json:"id"`
	Model        string `json:"model"`
	HealthStatus string `json:"healthStatus"`
}

type healthResponse struct {
	XKSProxyFleetSize int          `json:"xksProxyFleetSize"`
	XKSProxyVendor    string       `json:"xksProxyVendor"`
	XKSProxyModel     string       `json:"xksProxyModel"`
	EKMVendor         string       `json:"ekmVendor"`
	EKMFleetDetails   []ekmDetails `json:"ekmFleetDetails"`
}

// healthStatus runs the deep check the specification recommends: an
// encrypt and decrypt with the proxy's own test key, never a KMS key's.
func (p *Proxy) healthStatus() (any, *apiError) {
	p.mu.RLock()
	h := p.ekm
	p.mu.RUnlock()
	if h != xks.EKMUnavailable {
		probe := []byte("xks health check")
		ct, err := seal(p.health, p.rand, probe, nil)
		if err == nil {
			var pt []byte
			pt, err = open(p.health, ct, nil)
			if err == nil && string(pt) != string(probe) {
				err = errors.New("mismatch")
			}
		}
		if err != nil {
			return nil, fail(xks.Internal, "The key manager failed its health check.")
		}
	}
	return &healthResponse{
		XKSProxyFleetSize: 1,
		XKSProxyVendor:    "Trent",
		XKSProxyModel:     "Trent in-memory XKS proxy (xksproxy)",
		EKMVendor:         "Trent",
		EKMFleetDetails:   []ekmDetails{{ID: "memory-0", Model: "Go crypto/aes, keys in process memory", HealthStatus: h.String()}},
	}, nil
}

// printable keeps the printable ASCII of s, at most 400 characters, for an
// errorMessage.
func printable(s string) string {
	b := make([]byte, 0, min(len(s), 400))
	for i := 0; i < len(s) && len(b) < 400; i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e {
			b = append(b, c)
		}
	}
	return string(b)
}

var _ http.Handler = (*Proxy)(nil)
