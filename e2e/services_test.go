package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// registerService runs trent service register and returns the service's key.
func registerService(t *testing.T, srv *testserver.Server, name string) (string, string) {
	t.Helper()
	out, err := exec.Command(testserver.Binary(t), "service", "register", "--name", name, "--endpoint", srv.URL, "--data-dir", srv.DataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("trent service register: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`aws_access_key_id = (\S+)\naws_secret_access_key = (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("trent service register printed %q", out)
	}
	return m[1], m[2]
}

// kmsCall sends a KMS JSON request signed by the given credentials, with
// extra headers (signed too), and returns the status and body.
func kmsCall(t *testing.T, srv *testserver.Server, key, secret, op string, body any, extra map[string]string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(b)
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// presign is a caller's own authorization of one KMS request, as the
// X-Amz-* query parameters of a presigned request that signs X-Amz-Target.
func presign(t *testing.T, srv *testserver.Server, key, secret, op string, body []byte) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", "300")
	req.URL.RawQuery = q.Encode()
	sum := sha256.Sum256(body)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	return pu.RawQuery
}

// A registered service acts for itself as the service principal, naming what
// it acts for (aws:SourceArn, aws:SourceAccount: the confused-deputy guard of
// the IAM User Guide); it acts for a caller only by forwarding the caller's
// own signed request, and then with kms:ViaService.
func TestRegisteredServices(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	svcKey, svcSecret := registerService(t, srv, "backup.example.internal")
	alice := newUser(t, srv, root, "alice")

	policy := `{"Version":"2012-10-17","Statement":[
	 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
	 {"Sid":"backup service for its vaults","Effect":"Allow","Principal":{"Service":"backup.example.internal"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
	  "Condition":{"StringEquals":{"aws:SourceAccount":"` + acct + `"},"ArnLike":{"aws:SourceArn":"arn:aws:backup:us-east-1:` + acct + `:backup-vault:*"}}},
	 {"Sid":"alice via backup","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/alice"},"Action":"kms:Encrypt","Resource":"*",
	  "Condition":{"StringEquals":{"kms:ViaService":"backup.example.internal"}}}]}`
	k := newKey(t, root.kms, &kms.CreateKeyInput{Policy: aws.String(policy)})
	enc := map[string]any{"KeyId": *k.Arn, "Plaintext": base64.StdEncoding.EncodeToString([]byte("vault data"))}

	// For itself, with a source it is allowed for.
	st, out := kmsCall(t, srv, svcKey, svcSecret, "Encrypt", enc, map[string]string{
		"X-Trent-Source-Arn": "arn:aws:backup:us-east-1:" + acct + ":backup-vault:main", "X-Trent-Source-Account": acct})
	if st != 200 || out["KeyId"] != *k.Arn {
		t.Fatalf("service Encrypt for its vault: %d %v", st, out)
	}
	// For a source of another account: the confused-deputy guard denies it.
	st, out = kmsCall(t, srv, svcKey, svcSecret, "Encrypt", enc, map[string]string{
		"X-Trent-Source-Arn": "arn:aws:backup:us-east-1:999999999999:backup-vault:x", "X-Trent-Source-Account": "999999999999"})
	if st != 400 || out["__type"] != "AccessDeniedException" || !strings.Contains(out["message"].(string), "User: backup.example.internal is not authorized to perform: kms:Encrypt") {
		t.Fatalf("service Encrypt for a foreign source: %d %v", st, out)
	}
	// Without naming a source at all.
	if st, out = kmsCall(t, srv, svcKey, svcSecret, "Encrypt", enc, nil); st != 400 || out["__type"] != "AccessDeniedException" {
		t.Fatalf("service Encrypt without a source: %d %v", st, out)
	}

	// For alice: only with alice's own presigned authorization of this exact request.
	body, _ := json.Marshal(enc)
	aliceID, aliceSecret := userKey(t, root, "alice")
	onBehalf := presign(t, srv, aliceID, aliceSecret, "Encrypt", body)
	st, out = kmsCall(t, srv, svcKey, svcSecret, "Encrypt", enc, map[string]string{"X-Trent-On-Behalf-Of": onBehalf})
	if st != 200 {
		t.Fatalf("service Encrypt on behalf of alice: %d %v", st, out)
	}
	// Alice herself, not via the service, is not allowed by the key policy.
	_, err := alice.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("x")})
	wantErr(t, err, "AccessDeniedException", "User: arn:aws:iam::"+acct+":user/alice is not authorized to perform: kms:Encrypt")
	// The service cannot change what alice signed: another body fails.
	other := map[string]any{"KeyId": *k.Arn, "Plaintext": base64.StdEncoding.EncodeToString([]byte("something else"))}
	if st, out = kmsCall(t, srv, svcKey, svcSecret, "Encrypt", other, map[string]string{"X-Trent-On-Behalf-Of": onBehalf}); st == 200 {
		t.Fatalf("service reused alice's authorization for another body: %v", out)
	}
	// Nor the operation: alice signed Encrypt, not Decrypt.
	if st, out = kmsCall(t, srv, svcKey, svcSecret, "Decrypt", enc, map[string]string{"X-Trent-On-Behalf-Of": onBehalf}); st == 200 {
		t.Fatalf("service reused alice's authorization for another operation: %v", out)
	}
	// An ordinary user cannot pose as a service by sending the header.
	st, out = kmsCall(t, srv, aliceID, aliceSecret, "Encrypt", enc, map[string]string{"X-Trent-Source-Arn": "arn:aws:backup:us-east-1:" + acct + ":backup-vault:main"})
	if st != 400 || out["__type"] != "AccessDeniedException" {
		t.Fatalf("a user sending X-Trent-Source-Arn: %d %v", st, out)
	}
}

// userKey creates a second access key for a user and returns it.
func userKey(t *testing.T, root clients, user string) (string, string) {
	t.Helper()
	k, err := root.iam.CreateAccessKey(testserver.Context(t), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
}
