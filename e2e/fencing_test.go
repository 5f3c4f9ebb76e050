package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/trentkms/trent/internal/store/etcd/etcdtest"
	"github.com/trentkms/trent/internal/testserver"
)

// fenceWithin bounds how long a test waits for a node to notice a change of
// its etcd cluster (a bound, not an expectation of speed).
const fenceWithin = 60 * time.Second

// untilTrue polls cond until it holds, failing the test after fenceWithin.
func untilTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(fenceWithin)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, fenceWithin)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readyz(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantStale checks that err is the retryable 503 of a stale node, and that
// the AWS SDK's standard retryer retries it.
func wantStale(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want %s with HTTP 503", err, code)
	}
	if !strings.Contains(ae.ErrorMessage(), "cannot confirm that its view of the store is current") {
		t.Fatalf("message %q does not say why", ae.ErrorMessage())
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
		t.Fatalf("the SDK's standard retryer does not retry %v", err)
	}
}

func etcdNode(c *etcdtest.Cluster, sealFile string, extra ...string) testserver.Options {
	env := []string{
		"TRENT_STORE=" + c.StoreURL("/trent/"),
		"TRENT_SEAL=file:path=" + sealFile,
		"TRENT_STALE_BOUND=1s",
		"TRENT_METRICS_LISTEN=127.0.0.1:0",
	}
	return testserver.Options{Env: append(env, extra...)}
}

// A node whose only etcd member stops can no longer confirm that its view is
// current: it reports not ready and refuses KMS and IAM requests with 503s
// that the SDKs retry; when etcd is back it serves again by itself, keys and
// ciphertexts intact.
func TestFencingWhileEtcdIsDown(t *testing.T) {
	c := etcdtest.Start(t, 1)
	srv := testserver.Start(t, etcdNode(c, filepath.Join(t.TempDir(), "root.key"), "TRENT_HEALTH_ON_LISTEN=true"))
	metricsBase := strings.TrimSuffix(srv.MetricsURL, "/metrics")
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	k := newKey(t, root.kms, nil)
	enc, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("before")})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := readyz(t, metricsBase+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz with etcd up = %d %s", code, body)
	}
	if code, _ := readyz(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz on the API listener = %d", code)
	}

	c.Stop(0)
	untilTrue(t, "not ready once etcd is down", func() bool {
		code, _ := readyz(t, metricsBase+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	code, body := readyz(t, srv.URL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"stale`) {
		t.Fatalf("readyz on the API listener while stale = %d %s", code, body)
	}
	if code, _ := readyz(t, metricsBase+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz while stale = %d: a stale node is alive", code)
	}
	_, err = root.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantStale(t, err, "KMSInternalException")
	_, err = root.iam.ListUsers(ctx, &iam.ListUsersInput{})
	wantStale(t, err, "ServiceUnavailable")
	_, metrics := readyz(t, srv.MetricsURL)
	if !strings.Contains(metrics, "trent_view_current 0") || !strings.Contains(metrics, "trent_ready 0") {
		t.Fatalf("metrics while stale lack trent_view_current 0 and trent_ready 0:\n%s", metrics)
	}

	c.Restart(0)
	untilTrue(t, "ready once etcd is back", func() bool {
		code, _ := readyz(t, metricsBase+"/readyz")
		return code == http.StatusOK
	})
	dec, err := root.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "before" {
		t.Fatalf("Decrypt after etcd is back = %v", err)
	}
	if _, err := root.iam.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("IAM after etcd is back: %v", err)
	}
}

// Two nodes on a three-member etcd cluster: losing one member (the leader)
// leaves a quorum, so the nodes keep serving and a key disabled on one is
// refused on the other; losing a second member stales them; bringing it back
// makes them serve again.
func TestFencingWithEtcdMemberLoss(t *testing.T) {
	c := etcdtest.Start(t, 3)
	sealFile := filepath.Join(t.TempDir(), "root.key")
	a := testserver.Start(t, etcdNode(c, sealFile))
	b := testserver.Start(t, etcdNode(c, sealFile))
	aReady := strings.TrimSuffix(a.MetricsURL, "/metrics") + "/readyz"
	// Clients that retry as the SDK does by default: a leader election
	// may answer one request with a retryable error; the node serves on.
	retrying := func(s *testserver.Server) *kms.Client {
		cfg := s.Config("")
		cfg.RetryMaxAttempts = 5
		return kms.NewFromConfig(cfg)
	}
	ka, kb := retrying(a), retrying(b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*fenceWithin)
	defer cancel()
	k := newKey(t, ka, nil)
	if _, err := kb.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
		// Node b may not have seen the key yet: wait for it.
		untilTrue(t, "b sees the key", func() bool {
			_, err := kb.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
			return err == nil
		})
	}

	lost := c.Leader()
	if lost < 0 {
		lost = 0
	}
	c.Stop(lost)
	if _, err := kb.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatalf("DisableKey on b with one etcd member lost: %v", err)
	}
	// a keeps serving, and from a current view: the key is disabled there.
	untilTrue(t, "a refuses the key disabled on b", func() bool {
		_, err := ka.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
		var ae smithy.APIError
		return errors.As(err, &ae) && ae.ErrorCode() == "DisabledException"
	})
	if _, err := ka.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("a with one etcd member lost: %v", err)
	}
	if code, body := readyz(t, aReady); code != http.StatusOK {
		t.Fatalf("a not ready with one etcd member lost: %s", body)
	}

	second := (lost + 1) % 3
	c.Stop(second)
	untilTrue(t, "a not ready without a quorum", func() bool {
		code, _ := readyz(t, aReady)
		return code == http.StatusServiceUnavailable
	})
	// Readiness reports the store unreachable at once; requests are refused
	// once the last confirmation is older than the bound.
	var err error
	untilTrue(t, "a refuses requests without a quorum", func() bool {
		_, err = kms.NewFromConfig(a.Config("")).ListKeys(ctx, &kms.ListKeysInput{})
		return err != nil
	})
	wantStale(t, err, "KMSInternalException")

	c.Restart(second)
	untilTrue(t, "a ready with the quorum back", func() bool {
		code, _ := readyz(t, aReady)
		return code == http.StatusOK
	})
	if _, err := ka.EnableKey(ctx, &kms.EnableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatalf("EnableKey with the quorum back: %v", err)
	}
	untilTrue(t, "b uses the key enabled on a", func() bool {
		_, err := kb.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
		return err == nil
	})
}
