package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// The server counts requests by service, operation and outcome, and serves
// them in the Prometheus format on its metrics listener.
func TestMetrics(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Env: []string{"TRENT_METRICS_LISTEN=127.0.0.1:0"}})
	if srv.MetricsURL == "" {
		t.Fatal("no metrics listener announced")
	}
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	k := newKey(t, root.kms, nil)
	for i := 0; i < 3; i++ {
		if _, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := root.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &[]string{"alias/none"}[0]})
	wantErr(t, err, "NotFoundException", "")
	bad := clientsFor(srv, testserver.AccessKey, "wrong", "")
	bad.kms.ListKeys(ctx, &kms.ListKeysInput{})
	resp, err := http.Get(srv.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := string(body)
	for _, want := range []string{
		`trent_requests_total{service="kms",operation="Encrypt"} 3`,
		`trent_requests_total{service="kms",operation="CreateKey"} 1`,
		`trent_request_errors_total{service="kms",operation="DescribeKey",code="NotFoundException"} 1`,
		`trent_request_errors_total{service="kms",operation="ListKeys",code="InvalidSignatureException"} 1`,
		`trent_request_duration_seconds_count{service="kms",operation="Encrypt"} 3`,
		"trent_keys 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", out)
	}
}
