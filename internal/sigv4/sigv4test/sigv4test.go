// Package sigv4test builds requests signed the way AWS clients sign them, by
// aws-sdk-go-v2's own signer and presigner (never a signer of Trent's), for
// the tests of the packages that verify them (authn, server).
package sigv4test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// PayloadHash is the hex SHA-256 of a body, as SigV4 signs it.
func PayloadHash(body string) string {
	s := sha256.Sum256([]byte(body))
	return hex.EncodeToString(s[:])
}

// KMSRequest is an unsigned KMS JSON request to host for op ("" for none).
func KMSRequest(t testing.TB, host, op, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://"+host+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		r.Header.Set("X-Amz-Target", "TrentService."+op)
	}
	return r
}

// Sign signs r in place with the SDK's signer for service in region at now.
func Sign(t testing.TB, r *http.Request, body string, c aws.Credentials, service, region string, now time.Time) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), c, r, PayloadHash(body), service, region, now); err != nil {
		t.Fatal(err)
	}
}

// Presign presigns r with the SDK's presigner for service in region at now,
// valid for expires seconds, and returns the request a client sends from its
// output: the URL (the X-Amz-* headers hoisted into it) with the headers it
// says to send.
func Presign(t testing.TB, r *http.Request, body string, c aws.Credentials, service, region, expires string, now time.Time) *http.Request {
	t.Helper()
	q := r.URL.Query()
	q.Set("X-Amz-Expires", expires)
	r.URL.RawQuery = q.Encode()
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), c, r, PayloadHash(body), service, region, now)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := http.NewRequest(r.Method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			pr.Header[k] = vs
		}
	}
	return pr
}
