package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLEsessiontokenvalue+/="
	testRegion = "eu-west-1"
	encryptReq = `{"KeyId":"alias/app","Plaintext":"aGVsbG8gd29ybGQ="}`
)

var signedAt = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

// kmsRequest is a KMS Encrypt request with the headers aws-sdk-go-v2 sends.
func kmsRequest(t testing.TB, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://kms."+testRegion+".amazonaws.com/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "TrentService.Encrypt")
	r.Header.Set("Amz-Sdk-Invocation-Id", "3b8e4e1c-7a3f-4c2e-9a53-1f0f6f7c2d11")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/kms#1.38.1 m/E")
	return r
}

func payloadHash(body string) string {
	s := sha256.Sum256([]byte(body))
	return hex.EncodeToString(s[:])
}

// sdkSign signs r with the real SDK signer at signedAt.
func sdkSign(t testing.TB, r *http.Request, body string, creds aws.Credentials) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash(body), "kms", testRegion, signedAt); err != nil {
		t.Fatal(err)
	}
}

// onServer sends r through the HTTP/1.1 wire format and reads it back, so
// the verifier sees what net/http's server hands a handler.
func onServer(t testing.TB, r *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, body
}

func creds(token string) aws.Credentials {
	return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: token}
}

func verifier(l SecretLookup, now time.Time, o Options) *Verifier {
	o.Now = func() time.Time { return now }
	return NewVerifier(l, o)
}

var permanent = staticLookup{id: testKeyID, creds: Credentials{Secret: testSecret}}

func wantError(t *testing.T, err error, kind Kind, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *Error %s", err, kind)
	}
	if e.Kind != kind || e.Message != msg {
		t.Fatalf("got %s %q\nwant %s %q", e.Kind, e.Message, kind, msg)
	}
	for _, s := range []string{testSecret, testToken} {
		if strings.Contains(e.Message, s) {
			t.Fatalf("message %q leaks a secret", e.Message)
		}
	}
}

func TestSDKHeaderRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"permanent credentials", ""},
		{"temporary credentials", testToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := kmsRequest(t, encryptReq)
			sdkSign(t, r, encryptReq, creds(tt.token))
			sr, body := onServer(t, r)
			l := permanent
			l.creds.SessionToken = tt.token
			res, err := verifier(l, signedAt.Add(time.Minute), Options{}).Verify(context.Background(), sr, body)
			if err != nil {
				t.Fatal(err)
			}
			want := Result{AccessKeyID: testKeyID, Region: testRegion, Service: "kms", SignedAt: signedAt, SessionToken: tt.token,
				SignedHeaders: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-target"}
			if tt.token != "" {
				want.SignedHeaders = strings.Replace(want.SignedHeaders, "x-amz-date;", "x-amz-date;x-amz-security-token;", 1)
			}
			if res != want {
				t.Fatalf("got %+v, want %+v", res, want)
			}
		})
	}
}

func TestSDKPresignRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"permanent credentials", ""},
		{"temporary credentials", testToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodGet, "https://kms."+testRegion+".amazonaws.com/?Action=ListKeys&X-Amz-Expires=900", nil)
			if err != nil {
				t.Fatal(err)
			}
			u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds(tt.token), r, payloadHash(""), "kms", testRegion, signedAt)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range hdr {
				if k != "Host" {
					pr.Header[k] = vs
				}
			}
			sr, body := onServer(t, pr)
			l := permanent
			l.creds.SessionToken = tt.token
			for _, now := range []time.Time{signedAt, signedAt.Add(900 * time.Second), signedAt.Add(-5 * time.Minute)} {
				res, err := verifier(l, now, Options{}).Verify(context.Background(), sr, body)
				if err != nil {
					t.Fatalf("at %v: %v", now, err)
				}
				if !res.Presigned || res.SessionToken != tt.token || res.AccessKeyID != testKeyID {
					t.Fatalf("result %+v", res)
				}
			}
			_, err = verifier(l, signedAt.Add(901*time.Second), Options{}).Verify(context.Background(), sr, body)
			wantError(t, err, InvalidSignature, msgPresignExpired)
			_, err = verifier(l, signedAt.Add(-5*time.Minute-time.Second), Options{}).Verify(context.Background(), sr, body)
			wantError(t, err, InvalidSignature, "Signature not yet current: 20240101T120000Z is still later than 20240101T115959Z (20240101T115459Z + 5 min.)")
		})
	}
}

// signed returns a server-side KMS request signed by the SDK with
// credentials c, after edit changed the client request.
func signed(t *testing.T, c aws.Credentials, body string, edit func(*http.Request)) (*http.Request, []byte) {
	t.Helper()
	r := kmsRequest(t, body)
	if edit != nil {
		edit(r)
	}
	sdkSign(t, r, body, c)
	return onServer(t, r)
}

func TestVerifyErrors(t *testing.T) {
	ctx := context.Background()
	temporary := permanent
	temporary.creds.SessionToken = testToken
	authz := func(r *http.Request, h string) { r.Header.Set("Authorization", h) }
	const goodAuth = "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20240101/" + testRegion + "/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"

	for _, tt := range []struct {
		name   string
		lookup SecretLookup
		now    time.Time
		opts   Options
		req    func(t *testing.T) (*http.Request, []byte)
		kind   Kind
		msg    string
	}{
		{
			name: "no authentication",
			req: func(t *testing.T) (*http.Request, []byte) {
				return onServer(t, kmsRequest(t, encryptReq))
			},
			kind: MissingAuthenticationToken, msg: "Missing Authentication Token",
		},
		{
			name: "wrong secret",
			req: func(t *testing.T) (*http.Request, []byte) {
				c := creds("")
				c.SecretAccessKey = "not-the-secret"
				return signed(t, c, encryptReq, nil)
			},
			kind: InvalidSignature, msg: msgSignatureMismatch,
		},
		{
			name:   "unknown access key",
			lookup: staticLookup{id: "AKIAOTHER"},
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			kind: UnrecognizedClient, msg: "The security token included in the request is invalid.",
		},
		{
			name:   "expired temporary credentials",
			lookup: staticLookup{id: testKeyID, err: ErrExpiredToken},
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(testToken), encryptReq, nil)
			},
			kind: ExpiredToken, msg: "The security token included in the request is expired",
		},
		{
			name:   "session token missing",
			lookup: temporary,
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			kind: UnrecognizedClient, msg: msgUnknownKey,
		},
		{
			name:   "session token wrong",
			lookup: temporary,
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(testToken[:len(testToken)-1]+"x"), encryptReq, nil)
			},
			kind: UnrecognizedClient, msg: msgUnknownKey,
		},
		{
			name: "session token with permanent credentials",
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(testToken), encryptReq, nil)
			},
			kind: UnrecognizedClient, msg: msgUnknownKey,
		},
		{
			name: "payload changed after signing",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, _ := signed(t, creds(""), encryptReq, nil)
				return r, []byte(strings.Replace(encryptReq, "alias/app", "alias/apq", 1))
			},
			kind: InvalidSignature, msg: msgSignatureMismatch,
		},
		{
			name: "X-Amz-Content-Sha256 does not match the body",
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, func(r *http.Request) {
					r.Header.Set("X-Amz-Content-Sha256", payloadHash("other"))
				})
			},
			kind: InvalidSignature, msg: msgSignatureMismatch,
		},
		{
			name: "signed header missing",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header.Del("X-Amz-Target")
				return r, b
			},
			kind: InvalidSignature, msg: msgSignatureMismatch,
		},
		{
			name: "host not signed",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, strings.Replace(goodAuth, "host;x-amz-date", "x-amz-date", 1))
				return r, b
			},
			kind: IncompleteSignature, msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "signature expired",
			now:  signedAt.Add(5*time.Minute + time.Second),
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			kind: InvalidSignature, msg: "Signature expired: 20240101T120000Z is now earlier than 20240101T120001Z (20240101T120501Z - 5 min.)",
		},
		{
			name: "signature not yet current",
			now:  signedAt.Add(-5*time.Minute - time.Second),
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			kind: InvalidSignature, msg: "Signature not yet current: 20240101T120000Z is still later than 20240101T115959Z (20240101T115459Z + 5 min.)",
		},
		{
			name: "signature expired, 15 minute window",
			now:  signedAt.Add(15*time.Minute + time.Second),
			opts: Options{MaxSkew: 15 * time.Minute},
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			kind: InvalidSignature, msg: "Signature expired: 20240101T120000Z is now earlier than 20240101T120001Z (20240101T121501Z - 15 min.)",
		},
		{
			name: "wrong service",
			opts: Options{Scope: func(region, service string) error {
				if service != "kms" {
					return ServiceScopeError("kms")
				}
				return nil
			}},
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, strings.Replace(r.Header.Get("Authorization"), "/kms/", "/dynamodb/", 1))
				return r, b
			},
			kind: InvalidSignature, msg: "Credential should be scoped to correct service: 'kms'. ",
		},
		{
			name: "wrong region",
			opts: Options{Scope: func(region, service string) error {
				if region != "us-east-1" {
					return RegionScopeError()
				}
				return nil
			}},
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			kind: InvalidSignature, msg: "Credential should be scoped to a valid region. ",
		},
		{
			name: "authorization without parameters",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
				return r, b
			},
			kind: IncompleteSignature,
			msg:  "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
		},
		{
			name: "authorization missing signature and date",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header.Del("X-Amz-Date")
				authz(r, "AWS4-HMAC-SHA256 Credential="+testKeyID+"/20240101/"+testRegion+"/kms/aws4_request, SignedHeaders=host")
				return r, b
			},
			kind: IncompleteSignature,
			msg:  "Authorization header requires 'Signature' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20240101/" + testRegion + "/kms/aws4_request, SignedHeaders=host",
		},
		{
			name: "space inside the credential",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, strings.Replace(goodAuth, testKeyID+"/", testKeyID+" /", 1))
				return r, b
			},
			kind: IncompleteSignature,
			msg:  "'/20240101/" + testRegion + "/kms/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: '" + strings.Replace(goodAuth, testKeyID+"/", testKeyID+" /", 1) + "'.",
		},
		{
			name: "credential with four elements",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, strings.Replace(goodAuth, "/kms/", "/", 1))
				return r, b
			},
			kind: IncompleteSignature,
			msg:  "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testKeyID + "/20240101/" + testRegion + "/aws4_request'",
		},
		{
			name: "credential date differs from X-Amz-Date",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, strings.Replace(goodAuth, "/20240101/", "/20231231/", 1))
				return r, b
			},
			kind: InvalidSignature,
			msg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20231231' != '20240101', from '20240101T120000Z'.",
		},
		{
			name: "unsupported algorithm",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				authz(r, strings.Replace(goodAuth, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
				return r, b
			},
			kind: IncompleteSignature, msg: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'.",
		},
		{
			name: "header and query authentication",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
				return r, b
			},
			kind: IncompleteSignature, msg: msgTwoMechanisms,
		},
		{
			name: "presigned without X-Amz-Expires",
			req: func(t *testing.T) (*http.Request, []byte) {
				r := presigned(t, "")
				return r, nil
			},
			kind: IncompleteSignature, msg: msgQueryIncomplete,
		},
		{
			name: "presigned for more than a week",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presigned(t, "604801"), nil
			},
			kind: IncompleteSignature, msg: "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
		},
		{
			name: "presigned expiry not a number",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presigned(t, "soon"), nil
			},
			kind: IncompleteSignature, msg: "X-Amz-Expires should be a number",
		},
		{
			name: "presigned expiry negative",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presigned(t, "-1"), nil
			},
			kind: IncompleteSignature, msg: "X-Amz-Expires must be non-negative",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.lookup
			if l == nil {
				l = permanent
			}
			now := tt.now
			if now.IsZero() {
				now = signedAt
			}
			r, body := tt.req(t)
			_, err := verifier(l, now, tt.opts).Verify(ctx, r, body)
			wantError(t, err, tt.kind, tt.msg)
		})
	}
}

// presigned returns a server request with presigned query parameters
// (signature not valid) and the given X-Amz-Expires ("" to leave it out).
func presigned(t *testing.T, expires string) *http.Request {
	q := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + testKeyID + "%2F20240101%2F" + testRegion +
		"%2Fkms%2Faws4_request&X-Amz-Date=20240101T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
	if expires != "" {
		q += "&X-Amz-Expires=" + expires
	}
	r, err := http.NewRequest(http.MethodGet, "https://kms."+testRegion+".amazonaws.com/?"+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	sr, _ := onServer(t, r)
	return sr
}

func TestSkewBounds(t *testing.T) {
	r, body := signed(t, creds(""), encryptReq, nil)
	for _, d := range []time.Duration{-5 * time.Minute, 0, 5 * time.Minute} {
		if _, err := verifier(permanent, signedAt.Add(d), Options{}).Verify(context.Background(), r, body); err != nil {
			t.Errorf("now = signing time %+v: %v", d, err)
		}
	}
}

// rotatingLookup returns whatever secret it currently holds.
type rotatingLookup struct{ secret *string }

func (l rotatingLookup) Secret(context.Context, string) (Credentials, error) {
	return Credentials{Secret: *l.secret}, nil
}

func TestKeyCacheFollowsSecretChange(t *testing.T) {
	secret := testSecret
	v := verifier(rotatingLookup{&secret}, signedAt, Options{})
	oldReq, oldBody := signed(t, creds(""), encryptReq, nil)
	if _, err := v.Verify(context.Background(), oldReq, oldBody); err != nil {
		t.Fatal(err)
	}
	secret = "rotated-secret-0123456789012345678901234"
	_, err := v.Verify(context.Background(), oldReq, oldBody)
	wantError(t, err, InvalidSignature, msgSignatureMismatch)
	c := creds("")
	c.SecretAccessKey = secret
	newReq, newBody := signed(t, c, encryptReq, nil)
	if _, err := v.Verify(context.Background(), newReq, newBody); err != nil {
		t.Fatal(err)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	var c keyCache
	c.max = 4
	for i := range 10 {
		cr := credential{accessKeyID: "AKID" + string(rune('A'+i)), date: "20240101", region: testRegion, service: "kms"}
		c.signingKey(&cr, testSecret)
	}
	if len(c.m) > 4 {
		t.Fatalf("cache holds %d entries, max 4", len(c.m))
	}
}

func TestLookupFailureIsWrapped(t *testing.T) {
	boom := errors.New("store unavailable")
	r, body := signed(t, creds(""), encryptReq, nil)
	_, err := verifier(staticLookup{id: testKeyID, err: boom}, signedAt, Options{}).Verify(context.Background(), r, body)
	var e *Error
	if !errors.Is(err, boom) || errors.As(err, &e) {
		t.Fatalf("got %v, want the lookup error wrapped", err)
	}
}

func TestKind(t *testing.T) {
	for _, tt := range []struct {
		kind   Kind
		name   string
		status int
	}{
		{MissingAuthenticationToken, "MissingAuthenticationTokenException", 403},
		{IncompleteSignature, "IncompleteSignatureException", 400},
		{InvalidSignature, "InvalidSignatureException", 400},
		{UnrecognizedClient, "UnrecognizedClientException", 400},
		{ExpiredToken, "ExpiredTokenException", 400},
	} {
		if tt.kind.String() != tt.name || tt.kind.HTTPStatus() != tt.status {
			t.Errorf("%d: got %s %d, want %s %d", tt.kind, tt.kind, tt.kind.HTTPStatus(), tt.name, tt.status)
		}
	}
	if got := Kind(0).String(); got != "sigv4.Kind(0)" {
		t.Errorf("zero Kind: %s", got)
	}
	e := &Error{Kind: InvalidSignature, Message: "m"}
	if e.Error() != "InvalidSignatureException: m" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestCanonicalURI(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/", "/"},
		{"", "/"},
		{"/a/b/../c", "/a/c"},
		{"/a/b/..", "/a/"},
		{"/a/./b/", "/a/b/"},
		{"//a//b", "/a/b"},
		{"/../..", "/"},
		{"/a%20b", "/a%2520b"}, // already escaped on the wire: encoded again
		{"/ሴ", "/%E1%88%B4"},
	} {
		if got := string(appendCanonicalURI(nil, tt.in, true)); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1", "a=1&a=2"},
		{"a", "a="},
		{"a=b+c", "a=b%20c"},
		{"a=%7e%2F", "a=~%2F"},
		{"a=%zz", "a=%25zz"},
		{"&&a=1&", "a=1"},
	} {
		if got := string(appendCanonicalQuery(nil, parseQuery(tt.in))); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkVerifyEncrypt verifies a KMS Encrypt request as aws-sdk-go-v2
// sends it; the signing key is cached after the first iteration.
func BenchmarkVerifyEncrypt(b *testing.B) {
	r := kmsRequest(b, encryptReq)
	sdkSign(b, r, encryptReq, creds(""))
	sr, body := onServer(b, r)
	v := verifier(permanent, signedAt, Options{})
	ctx := context.Background()
	if _, err := v.Verify(ctx, sr, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, sr, body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentVerify runs verifications of several access keys at once;
// run it with -race.
func TestConcurrentVerify(t *testing.T) {
	type req struct {
		r    *http.Request
		body []byte
	}
	lookup := mapLookup{}
	var reqs []req
	for i := range 4 {
		id := testKeyID[:len(testKeyID)-1] + string(rune('0'+i))
		secret := testSecret[:len(testSecret)-1] + string(rune('0'+i))
		lookup[id] = secret
		r := kmsRequest(t, encryptReq)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
			r, payloadHash(encryptReq), "kms", testRegion, signedAt); err != nil {
			t.Fatal(err)
		}
		sr, body := onServer(t, r)
		reqs = append(reqs, req{sr, body})
	}
	v := verifier(lookup, signedAt, Options{})
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				q := reqs[(g+i)%len(reqs)]
				if _, err = v.Verify(context.Background(), q.r, q.body); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

type mapLookup map[string]string

func (m mapLookup) Secret(_ context.Context, id string) (Credentials, error) {
	s, ok := m[id]
	if !ok {
		return Credentials{}, ErrUnknownAccessKey
	}
	return Credentials{Secret: s}, nil
}

// VerifyAt checks the clock skew against the time it is given, not the
// verifier's clock.
func TestVerifyAtUsesItsTime(t *testing.T) {
	r := kmsRequest(t, encryptReq)
	sdkSign(t, r, encryptReq, creds(""))
	sr, body := onServer(t, r)
	v := verifier(permanent, signedAt.Add(time.Hour), Options{})
	if _, err := v.VerifyAt(context.Background(), sr, body, signedAt.Add(time.Minute)); err != nil {
		t.Fatalf("VerifyAt a minute after signing: %v", err)
	}
	var e *Error
	if _, err := v.VerifyAt(context.Background(), sr, body, signedAt.Add(-time.Hour)); !errors.As(err, &e) {
		t.Fatalf("VerifyAt an hour before signing: got %v, want a skew error", err)
	}
	if _, err := v.Verify(context.Background(), sr, body); !errors.As(err, &e) {
		t.Fatalf("Verify on a clock an hour after signing: got %v, want a skew error", err)
	}
}
