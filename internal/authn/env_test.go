package authn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/sigv4/sigv4test"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

const (
	testAccount = "111122223333"
	rootKeyID   = "AKIDEXAMPLE"
	rootSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	serviceName = "backup.example.internal"
	kmsHost     = "kms.us-east-1.amazonaws.com"
	peer        = "192.0.2.10"
)

var start = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// clock is the time the directory and the authenticator both read, moved
// by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// env is an Authenticator over a real IAM directory on a bolt store, with
// an account whose root key is rootKeyID, a user and a registered service.
type env struct {
	a    *Authenticator
	ids  *iam.Directory
	clk  *clock
	root aws.Credentials
	svc  aws.Credentials // the registered service's key
}

func newEnv(t testing.TB) *env {
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
	clk := &clock{t: start}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ids, err := iam.New(ctx, st, sealer, iam.Options{Log: log, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ids.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	if _, err := ids.Bootstrap(ctx, iam.Bootstrap{AccountID: testAccount, AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}); err != nil {
		t.Fatal(err)
	}
	id, secret, err := ids.RegisterService(ctx, serviceName)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ids, []string{"us-east-1", "eu-west-1"}, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{a: a, ids: ids, clk: clk,
		root: aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret},
		svc:  aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}}
}

// asRoot is an IAM or STS call made by the account's root.
func (e *env) asRoot(t testing.TB) iam.Call {
	t.Helper()
	id, err := e.ids.Identity(rootKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return iam.Call{Identity: id, Request: authz.Request{Time: e.clk.now(), Region: "us-east-1"}}
}

// user creates an IAM user with an access key and returns the key.
func (e *env) user(t testing.TB, name string) aws.Credentials {
	t.Helper()
	ctx := context.Background()
	if _, err := e.ids.CreateUser(ctx, e.asRoot(t), &iamapi.CreateUserRequest{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	out, err := e.ids.CreateAccessKey(ctx, e.asRoot(t), &iamapi.CreateAccessKeyRequest{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: *out.AccessKey.AccessKeyId, SecretAccessKey: *out.AccessKey.SecretAccessKey}
}

// session is temporary credentials of user c from GetSessionToken, valid
// for d.
func (e *env) session(t testing.TB, c aws.Credentials, d time.Duration) aws.Credentials {
	t.Helper()
	id, err := e.ids.Identity(c.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	secs := int32(d / time.Second)
	out, err := e.ids.GetSessionToken(context.Background(), iam.Call{Identity: id, Request: authz.Request{Time: e.clk.now(), Region: "us-east-1"}},
		&stsapi.GetSessionTokenRequest{DurationSeconds: &secs})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	return aws.Credentials{AccessKeyID: *cr.AccessKeyId, SecretAccessKey: *cr.SecretAccessKey, SessionToken: *cr.SessionToken}
}

func hashHex(b string) string { return sigv4test.PayloadHash(b) }

// kmsRequest is an unsigned KMS JSON request for op ("" for none).
func kmsRequest(t testing.TB, op, body string) *http.Request {
	t.Helper()
	return sigv4test.KMSRequest(t, kmsHost, op, body)
}

// sign signs r with the SDK's signer at the env's time.
func (e *env) sign(t testing.TB, r *http.Request, body string, c aws.Credentials, service, region string) {
	t.Helper()
	sigv4test.Sign(t, r, body, c, service, region, e.clk.now())
}

// presign presigns r with the SDK's presigner for kms, valid for expires
// seconds, and returns the request a client sends from its output.
func (e *env) presign(t testing.TB, r *http.Request, body string, c aws.Credentials, region, expires string) *http.Request {
	t.Helper()
	return sigv4test.Presign(t, r, body, c, "kms", region, expires, e.clk.now())
}

// received is r as a server reads it off the wire from peer, and its body.
func received(t testing.TB, r *http.Request) (*http.Request, []byte) {
	t.Helper()
	if r.GetBody != nil {
		// Sent again: Write consumed the body the last time.
		var err error
		if r.Body, err = r.GetBody(); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	got, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil {
		t.Fatal(err)
	}
	got.RemoteAddr = peer + ":40000"
	body, err := io.ReadAll(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	return got, body
}

// kmsRoute is the route of a KMS JSON request for op.
func kmsRoute(op string) Route { return Route{Target: "TrentService." + op, Service: "kms"} }

// authenticate sends r as received over route.
func (e *env) authenticate(t testing.TB, r *http.Request, rt Route) (Caller, error) {
	t.Helper()
	got, body := received(t, r)
	return e.a.Authenticate(got, body, rt)
}
