package xks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestCDIVAppendixC checks CDIV against the worked example of Appendix C.
func TestCDIVAppendixC(t *testing.T) {
	b64 := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	aad := []byte("project=nile,department=marketing")
	ct := Ciphertext{
		Ciphertext: b64("ghxkK1txeDNn3q8Y"),
		Metadata:   b64("a2V5X3ZlcnNpb249MQ=="),
		IV:         b64("HMrlRw85cAJUd5Ax"),
		Tag:        b64("vBxN2ncH1oEkR8WVXpmyYQ=="),
	}
	if len(aad)+len(ct.Metadata)+len(ct.IV)+len(ct.Ciphertext)+len(ct.Tag) != 86 {
		t.Fatal("field sizes differ from Appendix C")
	}
	sum := CDIV(aad, ct)
	if got, want := hex.EncodeToString(sum[:]), "a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7"; got != want {
		t.Errorf("CDIV = %s, want %s", got, want)
	}
	if got, want := base64.StdEncoding.EncodeToString(sum[:]), "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc="; got != want {
		t.Errorf("CDIV = %s, want %s", got, want)
	}
}

func TestGCMAAD(t *testing.T) {
	tests := []struct {
		name          string
		aad, metadata []byte
		want          string
	}{
		{name: "neither", want: "000000"},
		{name: "aad only", aad: []byte("ab"), want: "0002616200"},
		{name: "metadata only", metadata: []byte("ab"), want: "0000026162"},
		{name: "both", aad: []byte{0xff}, metadata: []byte{0xee}, want: "0001ff01ee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(GCMAAD(tt.aad, tt.metadata)); got != tt.want {
				t.Errorf("GCMAAD = %s, want %s", got, tt.want)
			}
		})
	}
	// Moving bytes from AAD to metadata must change the GCM AAD.
	if bytes.Equal(GCMAAD([]byte("ab"), nil), GCMAAD(nil, []byte("ab"))) {
		t.Error("AAD and metadata are not separated")
	}
}

func TestCodes(t *testing.T) {
	want := map[string]int{
		"ValidationException": 400, "InvalidStateException": 400, "InvalidCiphertextException": 400,
		"InvalidKeyUsageException": 400, "AuthenticationFailedException": 401, "AccessDeniedException": 403,
		"KeyNotFoundException": 404, "InvalidUriPathException": 404, "ThrottlingException": 429,
		"UnsupportedOperationException": 501, "DependencyTimeoutException": 503, "InternalException": 500,
	}
	seen := 0
	for c := Validation; c.valid(); c++ {
		seen++
		st, ok := want[c.String()]
		if !ok || st != c.HTTPStatus() {
			t.Errorf("%v: status %d, want %d (known %v)", c, c.HTTPStatus(), st, ok)
		}
		if p, ok := ParseCode(c.String()); !ok || p != c {
			t.Errorf("ParseCode(%v) = %v, %v", c, p, ok)
		}
		e := &Error{Code: c, Status: c.HTTPStatus()}
		if !errors.Is(fmt.Errorf("wrap: %w", e), codes[c].err) {
			t.Errorf("%v does not match its sentinel", c)
		}
		if c != Internal && errors.Is(e, ErrInternal) {
			t.Errorf("%v matches ErrInternal", c)
		}
	}
	if seen != len(want) {
		t.Errorf("%d codes, want %d", seen, len(want))
	}
	if _, ok := ParseCode("NoSuchException"); ok {
		t.Error("ParseCode accepted an unknown name")
	}
	if !errors.Is(ErrCDIVMismatch, ErrInvalidResponse) {
		t.Error("ErrCDIVMismatch does not match ErrInvalidResponse")
	}
}

func TestSanitizeMessage(t *testing.T) {
	if got := sanitizeMessage("a\nb\x1b[31mc\u00e9"); got != "ab[31mc" {
		t.Errorf("sanitizeMessage = %q", got)
	}
	if got := sanitizeMessage(strings.Repeat("x", 600)); len(got) != MaxErrorMessageLength {
		t.Errorf("len = %d", len(got))
	}
}

// TestSignMatchesSDK checks the hand-written signer against aws-sdk-go-v2's
// v4 signer on a request that carries only the headers KMS signs (host and
// x-amz-date), so both sign the same set.
func TestSignMatchesSDK(t *testing.T) {
	cred := Credential{AccessKeyID: "AKIAI2SFODNN7EXAMPLE", Secret: "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE"}
	at := time.Date(2021, 10, 9, 12, 34, 56, 0, time.UTC)
	body := []byte(`{"requestMetadata":{"kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae","kmsOperation":"KmsHealthCheck"}}`)
	for _, uri := range []string{
		"https://xks.example.com/kms/xks/v1/health",
		"https://xks.example.com:8443/example/prefix/kms/xks/v1/keys/a.b-c_D/encrypt",
	} {
		mine, _ := http.NewRequest(http.MethodPost, uri, nil)
		sign(mine, body, newCredential(cred), "us-west-2", at)

		sdk, _ := http.NewRequest(http.MethodPost, uri, nil)
		sum := hashHex(body)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.Secret},
			sdk, sum, Service, "us-west-2", at)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mine.Header.Get("Authorization"), sdk.Header.Get("Authorization"); got != want {
			t.Errorf("%s:\n got %s\nwant %s", uri, got, want)
		}
		if !strings.Contains(mine.Header.Get("Authorization"), "/20211009/us-west-2/kms-xks-proxy/aws4_request, SignedHeaders=host;x-amz-date, ") {
			t.Errorf("unexpected Authorization %s", mine.Header.Get("Authorization"))
		}
		if mine.Header.Get("X-Amz-Date") != "20211009T123456Z" {
			t.Errorf("X-Amz-Date = %s", mine.Header.Get("X-Amz-Date"))
		}
	}
}

func hashHex(b []byte) string {
	h := newSHA256()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

var newSHA256 = sha256.New
