package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/internal/testserver"
)

// raw sends a request, signed for service and region unless service is "",
// and returns the status and body.
func raw(t *testing.T, srv *testserver.Server, method, target, contentType, body, service, region string, secret string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+"/", strings.NewReader(body))
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if service != "" {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: testserver.AccessKey, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func errorShape(t *testing.T, body string) (string, string) {
	t.Helper()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a JSON error shape: %q", body)
	}
	return e.Type, e.Message
}

// The wire answers a client's mistakes with AWS's error shapes and codes.
func TestProtocolErrors(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	const json11 = "application/x-amz-json-1.1"
	ok := testserver.SecretKey
	cases := []struct {
		name, target, body, service, region, secret string
		status                                      int
		code, msg                                   string
	}{
		{name: "unsigned request", target: "TrentService.ListKeys", body: "{}", status: 403, code: "MissingAuthenticationTokenException", msg: "Missing Authentication Token"},
		{name: "wrong secret", target: "TrentService.ListKeys", body: "{}", service: "kms", region: "us-east-1", secret: "wrong", status: 400, code: "InvalidSignatureException", msg: "The request signature we calculated does not match the signature you provided."},
		{name: "Region not served", target: "TrentService.ListKeys", body: "{}", service: "kms", region: "eu-north-1", secret: ok, status: 400, code: "InvalidSignatureException", msg: "Credential should be scoped to a valid region"},
		{name: "KMS request signed for IAM", target: "TrentService.ListKeys", body: "{}", service: "iam", region: "us-east-1", secret: ok, status: 400, code: "InvalidSignatureException", msg: "Credential should be scoped to correct service: 'kms'"},
		{name: "unknown operation", target: "TrentService.FlyToTheMoon", body: "{}", service: "kms", region: "us-east-1", secret: ok, status: 400, code: "UnknownOperationException"},
		{name: "no target at all", body: "{}", service: "kms", region: "us-east-1", secret: ok, status: 400, code: "UnknownOperationException"},
		{name: "malformed JSON", target: "TrentService.ListKeys", body: "{not json", service: "kms", region: "us-east-1", secret: ok, status: 400, code: "SerializationException"},
		{name: "wrong JSON type", target: "TrentService.ListKeys", body: `{"Limit":"ten"}`, service: "kms", region: "us-east-1", secret: ok, status: 400, code: "SerializationException"},
		{name: "model validation", target: "TrentService.DescribeKey", body: `{}`, service: "kms", region: "us-east-1", secret: ok, status: 400, code: "ValidationException", msg: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := raw(t, srv, http.MethodPost, tt.target, json11, tt.body, tt.service, tt.region, tt.secret)
			code, msg := errorShape(t, body)
			if status != tt.status || code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", status, code, msg, tt.status, tt.code, tt.msg)
			}
		})
	}
	t.Run("body over the limit", func(t *testing.T) {
		status, body, _ := raw(t, srv, http.MethodPost, "TrentService.Encrypt", json11, `{"x":"`+strings.Repeat("a", 1<<20)+`"}`, "", "", "")
		if code, _ := errorShape(t, body); status != http.StatusRequestEntityTooLarge || code != "RequestEntityTooLargeException" {
			t.Fatalf("got %d %s", status, body)
		}
	})
	t.Run("request ids", func(t *testing.T) {
		_, _, h1 := raw(t, srv, http.MethodPost, "TrentService.ListKeys", json11, "{}", "kms", "us-east-1", ok)
		_, _, h2 := raw(t, srv, http.MethodPost, "TrentService.ListKeys", json11, "{}", "kms", "us-east-1", ok)
		if id := h1.Get("X-Amzn-Requestid"); len(id) != 36 || id == h2.Get("X-Amzn-Requestid") {
			t.Fatalf("request ids %q and %q", id, h2.Get("X-Amzn-Requestid"))
		}
	})
	t.Run("IAM errors are XML", func(t *testing.T) {
		status, body, h := raw(t, srv, http.MethodPost, "", "application/x-www-form-urlencoded", "Action=GetUser&Version=2010-05-08&UserName=nobody", "iam", "us-east-1", ok)
		if status != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/xml") ||
			!bytes.Contains([]byte(body), []byte("<Code>NoSuchEntity</Code>")) || !strings.Contains(body, "<Type>Sender</Type>") {
			t.Fatalf("got %d %s", status, body)
		}
		status, body, _ = raw(t, srv, http.MethodPost, "", "application/x-www-form-urlencoded", "Action=Teleport&Version=2010-05-08", "iam", "us-east-1", ok)
		if status != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
			t.Fatalf("unknown IAM action: %d %s", status, body)
		}
		status, body, _ = raw(t, srv, http.MethodPost, "", "application/x-www-form-urlencoded", "Action=GetUser&Version=2010-05-08", "iam", "us-east-1", "wrong")
		if status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
			t.Fatalf("bad IAM signature: %d %s", status, body)
		}
	})
}

// AWS's JSON protocol matches member names exactly: a member spelled in
// other case is unknown and ignored, so a required one is then missing, and
// the audit event names what the request used, not what it misspelled.
func TestMemberNamesCaseSensitive(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	const json11 = "application/x-amz-json-1.1"
	ok := testserver.SecretKey
	status, body, _ := raw(t, srv, http.MethodPost, "TrentService.CreateKey", json11, `{}`, "kms", "us-east-1", ok)
	var created struct{ KeyMetadata struct{ KeyId string } }
	if err := json.Unmarshal([]byte(body), &created); status != 200 || err != nil || created.KeyMetadata.KeyId == "" {
		t.Fatalf("CreateKey: %d %s", status, body)
	}
	keyID := created.KeyMetadata.KeyId

	status, body, _ = raw(t, srv, http.MethodPost, "TrentService.Encrypt", json11, `{"keyid":"`+keyID+`","Plaintext":"aGk="}`, "kms", "us-east-1", ok)
	code, msg := errorShape(t, body)
	if status != 400 || code != "ValidationException" || msg != "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null" {
		t.Fatalf("keyid: got %d %s %q", status, code, msg)
	}

	// encryptioncontext is not EncryptionContext: the ciphertext is bound
	// to no context, and decrypts without one.
	status, body, _ = raw(t, srv, http.MethodPost, "TrentService.Encrypt", json11,
		`{"KeyId":"`+keyID+`","Plaintext":"aGk=","encryptioncontext":{"case":"other"},"EncryptionContext":{"case":"exact"}}`, "kms", "us-east-1", ok)
	var enc struct{ CiphertextBlob string }
	if err := json.Unmarshal([]byte(body), &enc); status != 200 || err != nil {
		t.Fatalf("Encrypt: %d %s", status, body)
	}
	status, body, _ = raw(t, srv, http.MethodPost, "TrentService.Decrypt", json11,
		`{"CiphertextBlob":"`+enc.CiphertextBlob+`","encryptionContext":{"case":"exact"}}`, "kms", "us-east-1", ok)
	if code, _ := errorShape(t, body); status != 400 || code != "InvalidCiphertextException" {
		t.Fatalf("Decrypt without the exact context: %d %s", status, body)
	}
	status, body, _ = raw(t, srv, http.MethodPost, "TrentService.Decrypt", json11,
		`{"CiphertextBlob":"`+enc.CiphertextBlob+`","EncryptionContext":{"case":"exact"}}`, "kms", "us-east-1", ok)
	if status != 200 {
		t.Fatalf("Decrypt: %d %s", status, body)
	}
	srv.Stop(t) // Close flushes the log

	f, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	for _, line := range bytes.Split(f, []byte("\n")) {
		var e struct {
			EventName         string         `json:"eventName"`
			ErrorCode         string         `json:"errorCode"`
			RequestParameters map[string]any `json:"requestParameters"`
		}
		if len(line) == 0 || json.Unmarshal(line, &e) != nil || (e.EventName != "Encrypt" && e.EventName != "Decrypt") {
			continue
		}
		seen++
		got, _ := json.Marshal(e.RequestParameters)
		if _, keyid := e.RequestParameters["keyId"]; strings.Contains(string(got), "other") || e.ErrorCode == "ValidationException" && keyid {
			t.Errorf("%s %s: requestParameters name what the request misspelled: %s", e.EventName, e.ErrorCode, got)
		}
		if e.ErrorCode == "" && !strings.Contains(string(got), `"encryptionContext":{"case":"exact"}`) {
			t.Errorf("%s: requestParameters %s, want the exact encryptionContext", e.EventName, got)
		}
	}
	if seen != 4 {
		t.Fatalf("%d Encrypt and Decrypt events, want 4", seen)
	}
}
