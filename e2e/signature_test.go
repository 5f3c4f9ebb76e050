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
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// send sends r and decodes its JSON answer.
func send(t *testing.T, r *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%d %q: %v", resp.StatusCode, data, err)
	}
	return resp.StatusCode, out
}

// presignedKMS is a KMS request presigned by the SDK's presigner, built from
// its output as a client would send it: the URL (X-Amz-Target hoisted into
// it) and the headers the presigner returns.
func presignedKMS(t *testing.T, srv *testserver.Server, key, secret, op string, body []byte) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/?X-Amz-Expires=300", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	sum := sha256.Sum256(body)
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	for k, vs := range hdr {
		if k != "Host" {
			pr.Header[k] = vs
		}
	}
	return pr
}

// A presigned request authorizes the operation its signature covers and no
// other: SigV4 requires "any x-amz-* headers in the signature" (IAM User
// Guide, create-signed-request), and the SDK presigner hoists X-Amz-Target
// into the signed query. Whoever holds a presigned read-only DescribeKey
// cannot send it as DisableKey or ScheduleKeyDeletion.
func TestPresignedRequestKeepsItsOperation(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	k := newKey(t, root.kms, &kms.CreateKeyInput{})
	body := []byte(`{"KeyId":"` + *k.Arn + `"}`)

	for _, op := range []string{"DisableKey", "ScheduleKeyDeletion"} {
		r := presignedKMS(t, srv, testserver.AccessKey, testserver.SecretKey, "DescribeKey", body)
		r.Header.Set("X-Amz-Target", "TrentService."+op)
		st, out := send(t, r)
		if st != 400 || out["__type"] != "IncompleteSignatureException" || out["message"] != "There were headers present in the request which were not signed" {
			t.Fatalf("presigned DescribeKey sent as %s: %d %v", op, st, out)
		}
	}
	d, err := root.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.Arn})
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyMetadata.KeyState != types.KeyStateEnabled || d.KeyMetadata.DeletionDate != nil {
		t.Fatalf("key is %s, deletion date %v", d.KeyMetadata.KeyState, d.KeyMetadata.DeletionDate)
	}
	// Sent as the presigner returned it, it does what it was signed for.
	st, out := send(t, presignedKMS(t, srv, testserver.AccessKey, testserver.SecretKey, "DescribeKey", body))
	if md, _ := out["KeyMetadata"].(map[string]any); st != 200 || md["Arn"] != *k.Arn {
		t.Fatalf("presigned DescribeKey: %d %v", st, out)
	}
}

// Which headers a registered service signed comes from its verified
// signature (docs/SERVICES.md), not from whatever the Authorization header
// says: a "Foo=SignedHeaders=x-trent-source-arn" component does not make an
// unsigned X-Trent-Source-Arn count, so aws:SourceArn cannot be forged.
func TestServiceHeadersCannotBeClaimedSigned(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	svcKey, svcSecret := registerService(t, srv, "backup.example.internal")
	policy := `{"Version":"2012-10-17","Statement":[
	 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
	 {"Sid":"backup service for its vaults","Effect":"Allow","Principal":{"Service":"backup.example.internal"},"Action":"kms:Encrypt","Resource":"*",
	  "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:backup:us-east-1:` + acct + `:backup-vault:*"}}}]}`
	k := newKey(t, root.kms, &kms.CreateKeyInput{Policy: aws.String(policy)})
	body, _ := json.Marshal(map[string]any{"KeyId": *k.Arn, "Plaintext": base64.StdEncoding.EncodeToString([]byte("vault data"))})

	forged := func(header, value string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", "TrentService.Encrypt")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: svcKey, SecretAccessKey: svcSecret}, r, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		r.Header.Set(header, value)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=",
			"Foo=SignedHeaders="+strings.ToLower(header)+", SignedHeaders=", 1))
		return r
	}
	for _, tt := range []struct{ header, value string }{
		{"X-Trent-Source-Arn", "arn:aws:backup:us-east-1:" + acct + ":backup-vault:main"},
		{"X-Trent-On-Behalf-Of", presign(t, srv, testserver.AccessKey, testserver.SecretKey, "Encrypt", body)},
	} {
		st, out := send(t, forged(tt.header, tt.value))
		want := `The authorization header is malformed; the authorization component "Foo=SignedHeaders=` + strings.ToLower(tt.header) + `" is malformed.`
		if st != 400 || out["__type"] != "IncompleteSignatureException" || out["message"] != want {
			t.Fatalf("unsigned %s claimed signed: %d %v", tt.header, st, out)
		}
	}
}
