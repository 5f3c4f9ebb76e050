package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const describeReq = `{"KeyId":"alias/app"}`

// presignedKMS presigns a KMS POST for target with the SDK presigner, which
// hoists X-Amz-* headers (X-Amz-Target among them) into the signed query,
// and returns the request as the server sees it when the client sends the
// URL with the headers the presigner says to send, after edit changed it.
func presignedKMS(t *testing.T, target, body, token string, edit func(*http.Request)) (*http.Request, []byte) {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://kms."+testRegion+".amazonaws.com/?X-Amz-Expires=300", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds(token), r, payloadHash(body), "kms", testRegion, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			pr.Header[k] = vs
		}
	}
	if edit != nil {
		edit(pr)
	}
	return onServer(t, pr)
}

// The SigV4 rule: "You must include the host header (HTTP/1.1) or the
// :authority header (HTTP/2), and any x-amz-* headers in the signature"
// (IAM User Guide, create-signed-request, CanonicalHeaders). A request whose
// x-amz-* header the signature does not cover is refused before anything
// reads it: X-Amz-Target names the operation, so an unsigned one would let a
// presigned read-only request be replayed as any other operation.
func TestUnsignedAmzHeadersRefused(t *testing.T) {
	const msg = "There were headers present in the request which were not signed"
	temporary := permanent
	temporary.creds.SessionToken = testToken
	for _, tt := range []struct {
		name   string
		lookup SecretLookup
		req    func(t *testing.T) (*http.Request, []byte)
		ok     bool // else IncompleteSignature msg
	}{
		{
			name: "header form: SDK-signed request verifies",
			req: func(t *testing.T) (*http.Request, []byte) {
				return signed(t, creds(""), encryptReq, nil)
			},
			ok: true,
		},
		{
			name: "header form: X-Amz-Target added after signing",
			req: func(t *testing.T) (*http.Request, []byte) {
				r := kmsRequest(t, encryptReq)
				r.Header.Del("X-Amz-Target")
				sdkSign(t, r, encryptReq, creds(""))
				r.Header.Set("X-Amz-Target", "TrentService.DisableKey")
				return onServer(t, r)
			},
		},
		{
			name: "header form: any other x-amz header added after signing",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header.Set("X-Amz-Anything", "x")
				return r, b
			},
		},
		{
			name: "header form: a header name net/http did not canonicalise",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header["x-amz-TARGET"] = []string{"TrentService.DisableKey"}
				return r, b
			},
		},
		{
			// Decision: not exempted although its value must equal the body's
			// hash, since every SDK and the CLI sign it when they send it.
			name: "header form: X-Amz-Content-Sha256 added after signing",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header.Set("X-Amz-Content-Sha256", payloadHash(encryptReq))
				return r, b
			},
		},
		{
			// Decision: not exempted although it is compared with the
			// credentials, since every SDK and the CLI sign it.
			name:   "header form: session token added after signing",
			lookup: temporary,
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header.Set("X-Amz-Security-Token", testToken)
				return r, b
			},
		},
		{
			// The SDKs leave X-Amzn-Trace-Id unsigned on purpose; it is not
			// an x-amz-* header.
			name: "header form: unsigned X-Amzn-Trace-Id is fine",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, b := signed(t, creds(""), encryptReq, nil)
				r.Header.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793")
				return r, b
			},
			ok: true,
		},
		{
			name: "presigned: sent as the presigner says, target in the query",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, "", nil)
			},
			ok: true,
		},
		{
			name: "presigned: the same target also as a header",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, "", func(r *http.Request) {
					r.Header.Set("X-Amz-Target", "TrentService.DescribeKey")
				})
			},
			ok: true,
		},
		{
			name: "presigned: another target as a header",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, "", func(r *http.Request) {
					r.Header.Set("X-Amz-Target", "TrentService.DisableKey")
				})
			},
		},
		{
			name: "presigned: the signed target and another one as headers",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, "", func(r *http.Request) {
					r.Header["X-Amz-Target"] = []string{"TrentService.DescribeKey", "TrentService.DisableKey"}
				})
			},
		},
		{
			name: "presigned: signing only host, target added as a header",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "", describeReq, "", func(r *http.Request) {
					r.Header.Set("X-Amz-Target", "TrentService.DisableKey")
				})
			},
		},
		{
			// The signature is not part of what it signs.
			name: "presigned: X-Amz-Signature repeated as a header",
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, "", func(r *http.Request) {
					r.Header.Set("X-Amz-Signature", r.URL.Query().Get("X-Amz-Signature"))
				})
			},
		},
		{
			name:   "presigned: temporary credentials",
			lookup: temporary,
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, testToken, nil)
			},
			ok: true,
		},
		{
			name:   "presigned: session token as an unsigned header",
			lookup: temporary,
			req: func(t *testing.T) (*http.Request, []byte) {
				return presignedKMS(t, "TrentService.DescribeKey", describeReq, "", func(r *http.Request) {
					r.Header.Set("X-Amz-Security-Token", testToken)
				})
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.lookup
			if l == nil {
				l = permanent
			}
			r, body := tt.req(t)
			_, err := verifier(l, signedAt, Options{}).Verify(context.Background(), r, body)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantError(t, err, IncompleteSignature, msg)
		})
	}
}

// An X-Amz-Target the client put in the query string of a header-signed
// request is part of the canonical query, so it is signed.
func TestQueryParametersAreSignedInHeaderForm(t *testing.T) {
	r := kmsRequest(t, encryptReq)
	r.URL.RawQuery = url.Values{"X-Amz-Target": {"TrentService.Encrypt"}}.Encode()
	sdkSign(t, r, encryptReq, creds(""))
	sr, body := onServer(t, r)
	v := verifier(permanent, signedAt.Add(time.Second), Options{})
	if _, err := v.Verify(context.Background(), sr, body); err != nil {
		t.Fatal(err)
	}
	sr.URL.RawQuery = url.Values{"X-Amz-Target": {"TrentService.DisableKey"}}.Encode()
	sr.RequestURI = "/?" + sr.URL.RawQuery
	_, err := v.Verify(context.Background(), sr, body)
	wantError(t, err, InvalidSignature, msgSignatureMismatch)
}

// Result.Signs answers from the verified signature only: the headers a
// caller's own rules trust (X-Trent-Source-Arn for registered services) must
// be among those the signature covers.
func TestResultSigns(t *testing.T) {
	r, body := signed(t, creds(""), encryptReq, func(r *http.Request) {
		r.Header.Set("X-Trent-Source-Arn", "arn:aws:backup:eu-west-1:111122223333:backup-vault:main")
	})
	r.Header.Set("X-Trent-On-Behalf-Of", "X-Amz-Algorithm=AWS4-HMAC-SHA256")
	res, err := verifier(permanent, signedAt, Options{}).Verify(context.Background(), r, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"X-Trent-Source-Arn": true, "x-trent-source-arn": true, "Host": true, "X-Amz-Target": true,
		"X-Trent-On-Behalf-Of": false, "X-Trent-Source": false, "": false,
	} {
		if got := res.Signs(name); got != want {
			t.Errorf("Signs(%q) = %v, want %v", name, got, want)
		}
	}

	pr, pbody := presignedKMS(t, "TrentService.DescribeKey", describeReq, "", nil)
	res, err = verifier(permanent, signedAt, Options{}).Verify(context.Background(), pr, pbody)
	if err != nil {
		t.Fatal(err)
	}
	// The presigner hoisted X-Amz-Target into the query: it is covered (and
	// Verify made sure any such header equals it) but not a signed header.
	if !res.Presigned || res.SignedHeaders != "content-length;host" || !res.Signs("host") || res.Signs("X-Amz-Target") {
		t.Errorf("presigned result %+v", res)
	}
}
