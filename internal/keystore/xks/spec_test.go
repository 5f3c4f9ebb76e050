package xks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/keystore/xks"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func readSpec(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "spec", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// specServer answers each API with the specification's example response
// and records the request bodies it receives.
type specServer struct {
	mu     sync.Mutex
	bodies map[string][]byte // by last path element
}

func (s *specServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	s.mu.Lock()
	s.bodies[op] = body
	s.mu.Unlock()
	name := map[string]string{"health": "health_response", "metadata": "get_key_metadata_response", "encrypt": "encrypt_response", "decrypt": "decrypt_response"}[op]
	b, err := os.ReadFile(filepath.Join("testdata", "spec", name+".json"))
	if err != nil {
		w.WriteHeader(500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// TestSpecExamples drives the client with the inputs of the specification's
// request examples: each request body it sends must equal the example, and
// it must accept each example response (the Encrypt example's CDIV
// included). The exact bodies are kept in testdata/*.golden (go test
// -update rewrites them).
func TestSpecExamples(t *testing.T) {
	ctx := context.Background()
	s := &specServer{bodies: map[string][]byte{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := xks.New(xks.Config{Endpoint: srv.URL, URIPath: "/kms/xks/v1", Region: "us-east-2", Credential: cred, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	alice := xks.RequestMetadata{
		AWSPrincipalARN: "arn:aws:iam::123456789012:user/Alice",
		KMSKeyARN:       "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab",
		KMSViaService:   "ebs",
	}
	aad := []byte("project=nile,department=marketing")

	t.Run("GetHealthStatus", func(t *testing.T) {
		h, err := c.GetHealthStatus(ctx, xks.RequestMetadata{KMSRequestID: "4112f4d6-db54-4af4-ae30-c55a22a8dfae", KMSOperation: "CreateCustomKeyStore"})
		if err != nil {
			t.Fatal(err)
		}
		want := xks.HealthStatus{ProxyFleetSize: 2, ProxyVendor: "Acme Corp", ProxyModel: "Acme XKS Proxy 1.0", EKMVendor: "Thales Group",
			EKMs: []xks.EKM{{ID: "hsm-id-1", Model: "Luna 5.0", Health: xks.EKMDegraded}, {ID: "hsm-id-2", Model: "Luna 5.1", Health: xks.EKMActive}}}
		if !reflect.DeepEqual(h, want) || !h.Available() {
			t.Errorf("got %+v, want %+v", h, want)
		}
		checkBody(t, s.bodies["health"], "health_request")
	})
	t.Run("GetKeyMetadata", func(t *testing.T) {
		m := xks.RequestMetadata{AWSPrincipalARN: alice.AWSPrincipalARN, KMSOperation: "CreateKey", KMSRequestID: "4112f4d6-db54-4af4-ae30-c55a22a8dfae"}
		km, err := c.GetKeyMetadata(ctx, "b42c7fbf-de61-441c-ae24-123456789012", m)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(km, xks.KeyMetadata{KeySpec: "AES_256", Usage: []string{"ENCRYPT", "DECRYPT"}, Status: xks.KeyEnabled}) || km.Check() != nil {
			t.Errorf("got %+v", km)
		}
		checkBody(t, s.bodies["metadata"], "get_key_metadata_request")
	})
	t.Run("Encrypt", func(t *testing.T) {
		m := alice
		m.KMSOperation, m.KMSRequestID = "Encrypt", "4112f4d6-db54-4af4-ae30-c55a22a8dfae"
		ct, err := c.Encrypt(ctx, "b42c7fbf-de61-441c-ae24-123456789012", m, []byte("Hello World!"), aad)
		if err != nil {
			t.Fatal(err) // includes the check of the example's CDIV
		}
		want := xks.Ciphertext{Ciphertext: b64(t, "ghxkK1txeDNn3q8Y"), Metadata: b64(t, "a2V5X3ZlcnNpb249MQ=="), IV: b64(t, "HMrlRw85cAJUd5Ax"), Tag: b64(t, "vBxN2ncH1oEkR8WVXpmyYQ==")}
		if !reflect.DeepEqual(ct, want) {
			t.Errorf("got %+v", ct)
		}
		checkBody(t, s.bodies["encrypt"], "encrypt_request")
		if _, err := c.Encrypt(ctx, "k", m, []byte("Hello World!"), []byte("other AAD")); !errors.Is(err, xks.ErrCDIVMismatch) {
			t.Errorf("example response with another AAD: %v, want ErrCDIVMismatch", err)
		}
	})
	t.Run("Decrypt", func(t *testing.T) {
		m := alice
		m.KMSOperation, m.KMSRequestID = "Decrypt", "5112f4d6-db54-4af4-ae30-c55a22a8dfae"
		ct := xks.Ciphertext{Ciphertext: b64(t, "ghxkK1txeDNn3q8Y"), Metadata: b64(t, "a2V5X3ZlcnNpb249MQ=="), IV: b64(t, "HMrlRw85cAJUd5Ax"), Tag: b64(t, "vBxN2ncH1oEkR8WVXpmyYQ==")}
		pt, err := c.Decrypt(ctx, "b42c7fbf-de61-441c-ae24-123456789012", m, ct, aad)
		if err != nil {
			t.Fatal(err)
		}
		if string(pt) != "Hello World!" {
			t.Errorf("plaintext %q", pt)
		}
		checkBody(t, s.bodies["decrypt"], "decrypt_request")
	})
}

func checkBody(t *testing.T, got []byte, example string) {
	t.Helper()
	if !sameJSON(t, got, readSpec(t, example)) {
		t.Errorf("request body\n%s\ndiffers from the specification's example\n%s", got, readSpec(t, example))
	}
	golden := filepath.Join("testdata", example+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("request body\n%s\ndiffers from %s\n%s", got, golden, want)
	}
}

func TestSpecErrorExample(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(readSpec(t, "error_response"))
	}))
	defer srv.Close()
	c, err := xks.New(xks.Config{Endpoint: srv.URL, URIPath: "/kms/xks/v1", Region: "us-east-2", Credential: cred, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ct := xks.Ciphertext{Ciphertext: []byte("x"), IV: make([]byte, 12), Tag: make([]byte, 16)}
	_, err = c.Decrypt(context.Background(), "k", md("Decrypt"), ct, nil)
	var xe *xks.Error
	if !errors.As(err, &xe) || xe.Code != xks.InvalidCiphertext || xe.Status != 400 || !strings.HasPrefix(xe.Message, "The request was rejected") {
		t.Fatalf("err = %#v", err)
	}
}

// TestProxyAcceptsSpecExamples sends the specification's request examples,
// signed, to the in-memory proxy.
func TestProxyAcceptsSpecExamples(t *testing.T) {
	e := newEnv(t, true, nil)
	tests := []struct {
		example, path string
		status        int
		errorName     string
	}{
		{example: "health_request", path: "/health", status: 200},
		{example: "get_key_metadata_request", path: "/keys/enabled/metadata", status: 200},
		{example: "encrypt_request", path: "/keys/enabled/encrypt", status: 200},
		// The example ciphertext is not under this proxy's key.
		{example: "decrypt_request", path: "/keys/enabled/decrypt", status: 400, errorName: "InvalidCiphertextException"},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			res := rawCall(t, e, http.MethodPost, uriPath+tt.path, "application/json", readSpec(t, tt.example))
			if res.status != tt.status || res.errorName != tt.errorName {
				t.Fatalf("status %d %q, want %d %q: %s", res.status, res.errorName, tt.status, tt.errorName, res.body)
			}
		})
	}
	res := rawCall(t, e, http.MethodPost, uriPath+"/keys/enabled/encrypt", "application/json", readSpec(t, "encrypt_request"))
	var er struct{ Ciphertext, CiphertextDataIntegrityValue []byte }
	if err := json.Unmarshal(res.body, &er); err != nil || len(er.Ciphertext) != len("Hello World!") || len(er.CiphertextDataIntegrityValue) != 32 {
		t.Errorf("encrypt response %s", res.body)
	}
}

// TestProxyValidation sends requests the client would refuse to send.
func TestProxyValidation(t *testing.T) {
	e := newEnv(t, false, nil)
	enc := func(change func(m map[string]any)) []byte {
		m := map[string]any{
			"requestMetadata": map[string]any{
				"awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice",
				"kmsKeyArn":       "arn:aws:kms:us-east-2:123456789012:key/k",
				"kmsOperation":    "Encrypt",
				"kmsRequestId":    "r",
			},
			"plaintext":           base64.StdEncoding.EncodeToString([]byte("hi")),
			"encryptionAlgorithm": "AES_GCM",
		}
		change(m)
		b, _ := json.Marshal(m)
		return b
	}
	dec := func(change func(m map[string]any)) []byte {
		return enc(func(m map[string]any) {
			delete(m, "plaintext")
			m["ciphertext"] = base64.StdEncoding.EncodeToString([]byte("hi"))
			m["initializationVector"] = base64.StdEncoding.EncodeToString(make([]byte, 12))
			m["authenticationTag"] = base64.StdEncoding.EncodeToString(make([]byte, 16))
			change(m)
		})
	}
	meta := func(k string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["requestMetadata"].(map[string]any)[k] = v }
	}
	set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { m[k] = v } }
	bytesOf := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	const keys = uriPath + "/keys/enabled/"
	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		status                          int
		errorName                       string
	}{
		{name: "GET", method: "GET", path: keys + "encrypt", status: 405},
		{name: "GET health", method: "GET", path: uriPath + "/health", status: 405},
		{name: "encrypt ok", path: keys + "encrypt", body: enc(func(map[string]any) {}), status: 200},
		{name: "unknown metadata member ignored", path: keys + "encrypt", body: enc(meta("kmsRecipientAttestationImageSha384", "x")), status: 200},
		{name: "other kmsOperation accepted", path: keys + "encrypt", body: enc(meta("kmsOperation", "BulkEncrypt")), status: 200},
		{name: "ciphertext metadata over 20 bytes", path: keys + "decrypt", body: dec(set("ciphertextMetadata", bytesOf(21))), status: 400, errorName: "ValidationException"},
		{name: "IV of 13 bytes", path: keys + "decrypt", body: dec(set("initializationVector", bytesOf(13))), status: 400, errorName: "ValidationException"},
		{name: "tag of 15 bytes", path: keys + "decrypt", body: dec(set("authenticationTag", bytesOf(15))), status: 400, errorName: "ValidationException"},
		{name: "16-byte IV accepted", path: keys + "decrypt", body: dec(set("initializationVector", bytesOf(16))), status: 400, errorName: "InvalidCiphertextException"},
		{name: "key id over 128 characters", path: uriPath + "/keys/" + strings.Repeat("k", 129) + "/encrypt", body: enc(func(map[string]any) {}), status: 400, errorName: "ValidationException"},
		{name: "key id bad character", path: uriPath + "/keys/a%2Fb/encrypt", body: enc(func(map[string]any) {}), status: 400, errorName: "ValidationException"},
		{name: "ARN over 2048 characters", path: keys + "encrypt", body: enc(meta("awsPrincipalArn", strings.Repeat("a", 2049))), status: 400, errorName: "ValidationException"},
		{name: "missing kmsKeyArn", path: keys + "encrypt", body: enc(meta("kmsKeyArn", "")), status: 400, errorName: "ValidationException"},
		{name: "missing requestMetadata", path: keys + "encrypt", body: enc(func(m map[string]any) { delete(m, "requestMetadata") }), status: 400, errorName: "ValidationException"},
		{name: "missing plaintext", path: keys + "encrypt", body: enc(func(m map[string]any) { delete(m, "plaintext") }), status: 400, errorName: "ValidationException"},
		{name: "plaintext not Base64", path: keys + "encrypt", body: enc(set("plaintext", "***")), status: 400, errorName: "ValidationException"},
		{name: "wrong algorithm", path: keys + "encrypt", body: enc(set("encryptionAlgorithm", "AES_CBC")), status: 400, errorName: "ValidationException"},
		{name: "wrong CDIV algorithm", path: keys + "encrypt", body: enc(set("ciphertextDataIntegrityValueAlgorithm", "MD5")), status: 400, errorName: "ValidationException"},
		{name: "plaintext over 4300 bytes", path: keys + "encrypt", body: enc(set("plaintext", bytesOf(4301))), status: 501, errorName: "UnsupportedOperationException"},
		{name: "AAD over 8192 bytes", path: keys + "encrypt", body: enc(set("additionalAuthenticatedData", bytesOf(8193))), status: 501, errorName: "UnsupportedOperationException"},
		{name: "ciphertext over 4300 bytes", path: keys + "decrypt", body: dec(set("ciphertext", bytesOf(4301))), status: 501, errorName: "UnsupportedOperationException"},
		{name: "not JSON", path: keys + "encrypt", body: []byte("plaintext=hi"), status: 400, errorName: "ValidationException"},
		{name: "trailing data", path: keys + "encrypt", body: append(enc(func(map[string]any) {}), "{}"...), status: 400, errorName: "ValidationException"},
		{name: "wrong content type", path: keys + "encrypt", contentType: "text/plain", body: enc(func(map[string]any) {}), status: 400, errorName: "ValidationException"},
		{name: "body over 64 KiB", path: keys + "encrypt", body: enc(meta("pad", strings.Repeat("p", 70<<10))), status: 400, errorName: "ValidationException"},
		{name: "unknown API", path: uriPath + "/keys/enabled/sign", body: enc(func(map[string]any) {}), status: 404, errorName: "InvalidUriPathException"},
		{name: "no version", path: "/example/prefix/kms/xks/health", body: []byte("{}"), status: 404, errorName: "InvalidUriPathException"},
		{name: "query string", path: uriPath + "/health?x=1", body: []byte("{}"), status: 404, errorName: "InvalidUriPathException"},
		{name: "health ignores its body", path: uriPath + "/health", body: []byte("not json"), status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			res := rawCall(t, e, method, tt.path, ct, tt.body)
			if res.status != tt.status || res.errorName != tt.errorName {
				t.Fatalf("status %d %q, want %d %q: %.200s", res.status, res.errorName, tt.status, tt.errorName, res.body)
			}
		})
	}
}

func TestProxyAuthentication(t *testing.T) {
	e := newEnv(t, false, nil)
	body := readSpec(t, "health_request")
	do := func(r *http.Request) int {
		resp, err := e.srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("unsigned", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodPost, e.srv.URL+uriPath+"/health", bytes.NewReader(body))
		if st := do(r); st != 401 {
			t.Errorf("status %d", st)
		}
	})
	t.Run("body changed after signing", func(t *testing.T) {
		r := signedRequest(t, http.MethodPost, e.srv.URL+uriPath+"/health", "application/json", body, cred, time.Now())
		r.Body = io.NopCloser(bytes.NewReader(bytes.ToUpper(body)))
		if st := do(r); st != 401 {
			t.Errorf("status %d", st)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		r := signedRequest(t, http.MethodPost, e.srv.URL+uriPath+"/health", "application/json", body, xks.Credential{AccessKeyID: cred.AccessKeyID, Secret: cred2.Secret}, time.Now())
		if st := do(r); st != 401 {
			t.Errorf("status %d", st)
		}
	})
}
