package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/sigv4/sigv4test"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
)

// The root access key is the SigV4 test suite's, and the server's clock is
// the suite's time, so the suite's signed requests reach the server as
// validly signed (for their own service and Region).
const (
	testAccount = "111122223333"
	rootKeyID   = "AKIDEXAMPLE"
	rootSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testHost    = "kms.us-east-1.amazonaws.com"
)

var testNow = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

// env is a real server in process: bolt store, IAM directory and KMS
// service wired as cmd/trent serve wires them, without audit or metrics.
type env struct {
	srv *Server
	ids *iam.Directory
	kms *kms.Service
	st  store.Store
}

type cleaner interface {
	Helper()
	Fatal(...any)
	TempDir() string
	Cleanup(func())
}

func newEnv(t cleaner) *env {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := seal.New(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	seeded := &seededReader{c: mrand.NewChaCha8([32]byte{'t', 'r', 'e', 'n', 't'})}
	ids, err := iam.New(ctx, st, sealer, iam.Options{Log: log, Rand: seeded})
	if err != nil {
		t.Fatal(err)
	}
	regions := []string{"us-east-1", "eu-west-1"}
	k, err := kms.New(ctx, st, sealer, kms.Options{Log: log, Rand: seeded, Principals: ids, Organization: ids, Regions: regions, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { ids.Run(ctx); done <- struct{}{} }()
	go func() { k.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; st.Close() })
	if _, err := ids.Bootstrap(ctx, iam.Bootstrap{AccountID: testAccount, AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(k, ids, Options{Regions: regions, Log: log, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, ids: ids, kms: k, st: st}
}

// seededReader is a deterministic random source for the services, so every
// process that builds an env (each fuzzing worker is one) makes the same
// key ids and service credentials, and so can verify the same signed seeds.
type seededReader struct {
	mu sync.Mutex
	c  *mrand.ChaCha8
}

func (r *seededReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.Read(p)
}

func rootCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}
}

func hashHex(b []byte) string { return sigv4test.PayloadHash(string(b)) }

// kmsRequest is a KMS JSON request for op, unsigned.
func kmsRequest(t testing.TB, op string, body string) *http.Request {
	t.Helper()
	return sigv4test.KMSRequest(t, testHost, op, body)
}

// sign signs r with the SDK signer for kms in region at the server's time.
func sign(t testing.TB, r *http.Request, body string, c aws.Credentials, region string) {
	t.Helper()
	sigv4test.Sign(t, r, body, c, "kms", region, testNow)
}

// presign presigns r with the SDK presigner for kms in region, valid five
// minutes, and returns the request a client sends from its output.
func presign(t testing.TB, r *http.Request, body string, c aws.Credentials, region string) *http.Request {
	t.Helper()
	return sigv4test.Presign(t, r, body, c, "kms", region, "300", testNow)
}

// wireBytes is r as an HTTP/1.1 client sends it.
func wireBytes(t testing.TB, r *http.Request) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// serveBytes reads a request from its wire form, as net/http's server
// does, and serves it. ok is false if the bytes are not an HTTP request.
func (e *env) serveBytes(raw []byte) (rec *httptest.ResponseRecorder, ok bool) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	r.RemoteAddr = "192.0.2.10:40000"
	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, r)
	return rec, true
}

func (e *env) serve(t testing.TB, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec, ok := e.serveBytes(wireBytes(t, r))
	if !ok {
		t.Fatal("unreadable request")
	}
	return rec
}

// jsonError is the JSON 1.1 error shape.
type jsonError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func decode(t testing.TB, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("response %d %q: %v", rec.Code, rec.Body, err)
	}
}

// call sends a KMS operation signed by c in us-east-1 and decodes the
// answer into out (a response or a jsonError).
func (e *env) call(t testing.TB, c aws.Credentials, op, body string, out any) int {
	t.Helper()
	r := kmsRequest(t, op, body)
	sign(t, r, body, c, "us-east-1")
	rec := e.serve(t, r)
	decode(t, rec, out)
	return rec.Code
}

// keyState returns the key's state as root sees it in process.
func (e *env) keyState(t testing.TB, keyID string) string {
	t.Helper()
	var out struct {
		KeyMetadata struct{ KeyState string }
	}
	if code := e.call(t, rootCreds(), "DescribeKey", `{"KeyId":"`+keyID+`"}`, &out); code != 200 {
		t.Fatalf("DescribeKey: %d", code)
	}
	return out.KeyMetadata.KeyState
}

func (e *env) createKey(t testing.TB, policy string) string {
	t.Helper()
	body := "{}"
	if policy != "" {
		b, _ := json.Marshal(map[string]string{"Policy": policy})
		body = string(b)
	}
	var out struct{ KeyMetadata struct{ Arn, KeyId string } }
	if code := e.call(t, rootCreds(), "CreateKey", body, &out); code != 200 {
		t.Fatalf("CreateKey: %d", code)
	}
	return out.KeyMetadata.Arn
}

// snapshot is every record of the store and the revision it was last
// written at, but for the access keys' last-use records, which any
// authenticated request may update.
func (e *env) snapshot(t testing.TB) map[string]int64 {
	t.Helper()
	kvs, _, err := e.st.Range(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]int64, len(kvs))
	for _, kv := range kvs {
		if !strings.HasPrefix(kv.Key, "iam/lastused/") {
			m[kv.Key] = kv.ModRev
		}
	}
	return m
}

func queryOf(r *http.Request) url.Values { q, _ := url.ParseQuery(r.URL.RawQuery); return q }
