package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const unsignedHeaders = "There were headers present in the request which were not signed"

func wantJSONError(t *testing.T, code int, got jsonError, status int, typ, msg string) {
	t.Helper()
	if code != status || got.Type != typ || got.Message != msg {
		t.Fatalf("got %d %s %q, want %d %s %q", code, got.Type, got.Message, status, typ, msg)
	}
}

// The operation a request runs is the one its signature covers. SigV4
// requires "any x-amz-* headers in the signature" (IAM User Guide,
// create-signed-request), and the SDK presigners hoist X-Amz-Target into
// the signed query, so a presigned read-only request cannot be replayed as
// another operation by adding a header.
func TestOperationIsSigned(t *testing.T) {
	e := newEnv(t)
	key := e.createKey(t, "")
	body := `{"KeyId":"` + key + `"}`

	t.Run("presigned DescribeKey sent as the presigner returned it", func(t *testing.T) {
		rec := e.serve(t, presign(t, kmsRequest(t, "DescribeKey", body), body, rootCreds(), "us-east-1"))
		var out struct{ KeyMetadata struct{ Arn string } }
		decode(t, rec, &out)
		if rec.Code != 200 || out.KeyMetadata.Arn != key {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	for _, op := range []string{"DisableKey", "ScheduleKeyDeletion"} {
		t.Run("presigned DescribeKey replayed as "+op, func(t *testing.T) {
			pr := presign(t, kmsRequest(t, "DescribeKey", body), body, rootCreds(), "us-east-1")
			pr.Header.Set("X-Amz-Target", "TrentService."+op)
			rec := e.serve(t, pr)
			var got jsonError
			decode(t, rec, &got)
			wantJSONError(t, rec.Code, got, 400, "IncompleteSignatureException", unsignedHeaders)
			if s := e.keyState(t, key); s != "Enabled" {
				t.Fatalf("key is %s", s)
			}
		})
	}
	t.Run("presigned without a target, one added", func(t *testing.T) {
		pr := presign(t, kmsRequest(t, "", body), body, rootCreds(), "us-east-1")
		pr.Header.Set("X-Amz-Target", "TrentService.DisableKey")
		rec := e.serve(t, pr)
		var got jsonError
		decode(t, rec, &got)
		wantJSONError(t, rec.Code, got, 400, "IncompleteSignatureException", unsignedHeaders)
		if s := e.keyState(t, key); s != "Enabled" {
			t.Fatalf("key is %s", s)
		}
	})
	t.Run("header-signed without a target, one added", func(t *testing.T) {
		r := kmsRequest(t, "", body)
		sign(t, r, body, rootCreds(), "us-east-1")
		r.Header.Set("X-Amz-Target", "TrentService.DisableKey")
		rec := e.serve(t, r)
		var got jsonError
		decode(t, rec, &got)
		wantJSONError(t, rec.Code, got, 400, "IncompleteSignatureException", unsignedHeaders)
		if s := e.keyState(t, key); s != "Enabled" {
			t.Fatalf("key is %s", s)
		}
	})
	t.Run("two different targets, both signed", func(t *testing.T) {
		r := kmsRequest(t, "DescribeKey", body)
		r.URL.RawQuery = "X-Amz-Target=TrentService.DisableKey"
		sign(t, r, body, rootCreds(), "us-east-1")
		rec := e.serve(t, r)
		var got jsonError
		decode(t, rec, &got)
		if rec.Code != 400 || got.Type != "UnknownOperationException" {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
		if s := e.keyState(t, key); s != "Enabled" {
			t.Fatalf("key is %s", s)
		}
	})
}

const serviceName = "backup.example.internal"

// A registered service's X-Trent-* headers are trusted only if its verified
// signature covers them (docs/SERVICES.md); what the Authorization header
// claims beyond that counts for nothing.
func TestServiceHeadersNeedTheVerifiedSignature(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, secret, err := e.ids.RegisterService(ctx, serviceName)
	if err != nil {
		t.Fatal(err)
	}
	svc := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	const vault = "arn:aws:backup:us-east-1:" + testAccount + ":backup-vault:main"
	key := e.createKey(t, `{"Version":"2012-10-17","Statement":[
	 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},"Action":"kms:*","Resource":"*"},
	 {"Sid":"backup for its vaults","Effect":"Allow","Principal":{"Service":"`+serviceName+`"},"Action":"kms:Encrypt","Resource":"*",
	  "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:backup:us-east-1:`+testAccount+`:backup-vault:*"}}}]}`)
	body := `{"KeyId":"` + key + `","Plaintext":"dmF1bHQgZGF0YQ=="}`
	encrypt := func(t *testing.T, r *http.Request) (int, jsonError, string) {
		t.Helper()
		rec := e.serve(t, r)
		var out struct {
			jsonError
			KeyId string
		}
		decode(t, rec, &out)
		return rec.Code, out.jsonError, out.KeyId
	}

	t.Run("signed source", func(t *testing.T) {
		r := kmsRequest(t, "Encrypt", body)
		r.Header.Set("X-Trent-Source-Arn", vault)
		sign(t, r, body, svc, "us-east-1")
		if code, got, keyID := encrypt(t, r); code != 200 || keyID != key {
			t.Fatalf("got %d %+v", code, got)
		}
	})
	t.Run("unsigned source", func(t *testing.T) {
		r := kmsRequest(t, "Encrypt", body)
		sign(t, r, body, svc, "us-east-1")
		r.Header.Set("X-Trent-Source-Arn", vault)
		code, got, _ := encrypt(t, r)
		wantJSONError(t, code, got, 400, "IncompleteSignatureException", "The X-Trent-Source-Arn header must be signed.")
	})
	t.Run("unsigned source claimed by an extra component", func(t *testing.T) {
		r := kmsRequest(t, "Encrypt", body)
		sign(t, r, body, svc, "us-east-1")
		r.Header.Set("X-Trent-Source-Arn", vault)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=", "Foo=SignedHeaders=x-trent-source-arn, SignedHeaders=", 1))
		code, got, _ := encrypt(t, r)
		wantJSONError(t, code, got, 400, "IncompleteSignatureException",
			`The authorization header is malformed; the authorization component "Foo=SignedHeaders=x-trent-source-arn" is malformed.`)
	})

	// On behalf of root, with root's presigned authorization of the request.
	onBehalf := func(t *testing.T, callerRegion, serviceRegion string, edit func(*http.Request)) *http.Request {
		t.Helper()
		pr := presign(t, kmsRequest(t, "Encrypt", body), body, rootCreds(), callerRegion)
		r := kmsRequest(t, "Encrypt", body)
		r.Header.Set("X-Trent-On-Behalf-Of", pr.URL.RawQuery)
		if edit != nil {
			edit(r)
		}
		sign(t, r, body, svc, serviceRegion)
		return r
	}
	t.Run("on behalf of a caller", func(t *testing.T) {
		if code, got, keyID := encrypt(t, onBehalf(t, "us-east-1", "us-east-1", nil)); code != 200 || keyID != key {
			t.Fatalf("got %d %+v", code, got)
		}
	})
	t.Run("on behalf of a caller who signed for another Region", func(t *testing.T) {
		code, got, _ := encrypt(t, onBehalf(t, "eu-west-1", "us-east-1", nil))
		wantJSONError(t, code, got, 400, "InvalidSignatureException", "Credential should be scoped to a valid region. ")
	})
	t.Run("on behalf of a caller, another operation", func(t *testing.T) {
		r := onBehalf(t, "us-east-1", "us-east-1", func(r *http.Request) { r.Header.Set("X-Amz-Target", "TrentService.GenerateDataKey") })
		code, got, _ := encrypt(t, r)
		wantJSONError(t, code, got, 400, "IncompleteSignatureException", unsignedHeaders)
	})
	t.Run("unsigned on-behalf header claimed by an extra component", func(t *testing.T) {
		pr := presign(t, kmsRequest(t, "Encrypt", body), body, rootCreds(), "us-east-1")
		r := kmsRequest(t, "Encrypt", body)
		sign(t, r, body, svc, "us-east-1")
		r.Header.Set("X-Trent-On-Behalf-Of", pr.URL.RawQuery)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=", "Foo=SignedHeaders=x-trent-on-behalf-of, SignedHeaders=", 1))
		code, got, _ := encrypt(t, r)
		if code != 400 || got.Type != "IncompleteSignatureException" {
			t.Fatalf("got %d %+v", code, got)
		}
	})
}

// IAM and STS speak the Query protocol: the operation is the Action
// parameter, signed with the rest of the form body (the payload hash) or of
// the query.
func TestQueryActionIsSigned(t *testing.T) {
	e := newEnv(t)
	form := "Action=GetUser&Version=2010-05-08"
	r, _ := http.NewRequest(http.MethodPost, "https://iam.amazonaws.com/", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := signFor(r, form, "iam"); err != nil {
		t.Fatal(err)
	}
	raw := wireBytes(t, r)
	rec, _ := e.serveBytes(raw)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<GetUserResponse") {
		t.Fatalf("GetUser: %d %s", rec.Code, rec.Body)
	}
	changed := strings.Replace(string(raw), "Action=GetUser", "Action=ListUsers", 1)
	rec, _ = e.serveBytes([]byte(changed))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("changed Action: %d %s", rec.Code, rec.Body)
	}
	// The x-amz-* rule holds in this protocol too, with its error codes.
	rec, _ = e.serveBytes([]byte(strings.Replace(string(raw), "\r\n\r\n", "\r\nX-Amz-Copy-Source: x\r\n\r\n", 1)))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Code>IncompleteSignature</Code><Message>"+unsignedHeaders+"</Message>") {
		t.Fatalf("unsigned x-amz-* header: %d %s", rec.Code, rec.Body)
	}
}

func signFor(r *http.Request, body, service string) error {
	return v4.NewSigner().SignHTTP(context.Background(), rootCreds(), r, hashHex([]byte(body)), service, "us-east-1", testNow)
}
