package authn

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

const (
	body           = `{"KeyId":"alias/app","Plaintext":"aGVsbG8="}`
	msgUnsigned    = "There were headers present in the request which were not signed"
	msgUnknownKey  = "The security token included in the request is invalid."
	msgRegionScope = "Credential should be scoped to a valid region. "
	msgMismatch    = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// wantAuthError checks that err is the AWS authentication error kind/msg.
func wantAuthError(t *testing.T, err error, kind sigv4.Kind, msg string) {
	t.Helper()
	var ae *sigv4.Error
	if !errors.As(err, &ae) || ae.Kind != kind || ae.Message != msg {
		t.Fatalf("got %v, want %s: %q", err, kind, msg)
	}
}

func rootARN() string { return "arn:aws:iam::" + testAccount + ":root" }

func TestAcceptsSignedRequests(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice")
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
		route   Route
		arn     string
		service string
		region  string
	}{
		{name: "header-signed KMS request", arn: rootARN(), service: "kms", region: "us-east-1", route: kmsRoute("Encrypt"),
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, e.root, "kms", "us-east-1")
				return r
			}},
		{name: "in another served Region", arn: rootARN(), service: "kms", region: "eu-west-1", route: kmsRoute("Encrypt"),
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, e.root, "kms", "eu-west-1")
				return r
			}},
		{name: "presigned as the SDK presigner returns it", arn: rootARN(), service: "kms", region: "us-east-1", route: kmsRoute("Encrypt"),
			request: func(t *testing.T) *http.Request {
				return e.presign(t, kmsRequest(t, "Encrypt", body), body, e.root, "us-east-1", "300")
			}},
		{name: "a user's key", arn: "arn:aws:iam::" + testAccount + ":user/alice", service: "kms", region: "us-east-1", route: kmsRoute("Encrypt"),
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, alice, "kms", "us-east-1")
				return r
			}},
		{name: "Query request for IAM, scope chooses", arn: rootARN(), service: "iam", region: "us-east-1", route: Route{},
			request: func(t *testing.T) *http.Request {
				form := "Action=GetUser&Version=2010-05-08"
				r, _ := http.NewRequest(http.MethodPost, "https://iam.amazonaws.com/", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				e.sign(t, r, form, e.root, "iam", "us-east-1")
				return r
			}},
		{name: "STS in a served Region", arn: rootARN(), service: "sts", region: "eu-west-1", route: Route{},
			request: func(t *testing.T) *http.Request {
				form := "Action=GetCallerIdentity&Version=2011-06-15"
				r, _ := http.NewRequest(http.MethodPost, "https://sts.eu-west-1.amazonaws.com/", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				e.sign(t, r, form, e.root, "sts", "eu-west-1")
				return r
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.request(t)
			r.Header.Set("User-Agent", "test-agent/1")
			c, err := e.authenticate(t, r, tt.route)
			if err != nil {
				t.Fatal(err)
			}
			if c.Identity.ARN != tt.arn || c.Service != tt.service || c.Region != tt.region {
				t.Fatalf("got %s %s %s, want %s %s %s", c.Identity.ARN, c.Service, c.Region, tt.arn, tt.service, tt.region)
			}
			want := authz.Request{Time: start, SourceIP: peer, Region: tt.region, UserAgent: "test-agent/1"}
			if c.Request != want {
				t.Fatalf("facts %+v, want %+v", c.Request, want)
			}
		})
	}
}

func TestRefusesBadSignatures(t *testing.T) {
	e := newEnv(t)
	signed := func(t *testing.T, edit func(*http.Request)) *http.Request {
		r := kmsRequest(t, "Encrypt", body)
		e.sign(t, r, body, e.root, "kms", "us-east-1")
		if edit != nil {
			edit(r)
		}
		return r
	}
	tests := []struct {
		name    string
		request func(t *testing.T) *http.Request
		route   Route
		kind    sigv4.Kind
		msg     string
	}{
		{name: "no signature", kind: sigv4.MissingAuthenticationToken, msg: "Missing Authentication Token",
			request: func(t *testing.T) *http.Request { return kmsRequest(t, "Encrypt", body) }},
		{name: "an x-amz-* header added after signing", kind: sigv4.IncompleteSignature, msg: msgUnsigned,
			request: func(t *testing.T) *http.Request {
				return signed(t, func(r *http.Request) { r.Header.Set("X-Amz-Meta", "x") })
			}},
		{name: "the operation changed after signing", kind: sigv4.IncompleteSignature, msg: msgUnsigned,
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "", body)
				e.sign(t, r, body, e.root, "kms", "us-east-1")
				r.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion")
				return r
			}},
		{name: "presigned, another operation added as a header", kind: sigv4.IncompleteSignature, msg: msgUnsigned, route: kmsRoute("DisableKey"),
			request: func(t *testing.T) *http.Request {
				pr := e.presign(t, kmsRequest(t, "DescribeKey", body), body, e.root, "us-east-1", "300")
				pr.Header.Set("X-Amz-Target", "TrentService.DisableKey")
				return pr
			}},
		{name: "a changed body", kind: sigv4.InvalidSignature, msg: msgMismatch,
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body+" ")
				e.sign(t, r, body, e.root, "kms", "us-east-1")
				return r
			}},
		{name: "a Region this server does not serve", kind: sigv4.InvalidSignature, msg: msgRegionScope,
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, e.root, "kms", "ap-south-1")
				return r
			}},
		{name: "a service this server does not speak", kind: sigv4.InvalidSignature, msg: "Credential should be scoped to correct service: 'kms'. ",
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, e.root, "s3", "us-east-1")
				return r
			}},
		{name: "IAM outside us-east-1", kind: sigv4.InvalidSignature, msg: msgRegionScope,
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, e.root, "iam", "eu-west-1")
				return r
			}},
		{name: "signed for STS, routed to KMS", kind: sigv4.InvalidSignature, msg: "Credential should be scoped to correct service: 'kms'. ", route: kmsRoute("Encrypt"),
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, e.root, "sts", "us-east-1")
				return r
			}},
		{name: "signed for KMS, routed to Organizations", kind: sigv4.InvalidSignature, msg: "Credential should be scoped to correct service: 'organizations'. ",
			route:   Route{Target: "AWSOrganizationsV20161128.DescribeOrganization", Service: "organizations"},
			request: func(t *testing.T) *http.Request { return signed(t, nil) }},
		{name: "an unknown access key", kind: sigv4.UnrecognizedClient, msg: msgUnknownKey,
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: rootSecret}, "kms", "us-east-1")
				return r
			}},
		{name: "the wrong secret", kind: sigv4.InvalidSignature, msg: msgMismatch,
			request: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: "not the secret"}, "kms", "us-east-1")
				return r
			}},
		{name: "a session token with long-term credentials", kind: sigv4.UnrecognizedClient, msg: msgUnknownKey,
			request: func(t *testing.T) *http.Request {
				c := e.root
				c.SessionToken = "token"
				r := kmsRequest(t, "Encrypt", body)
				e.sign(t, r, body, c, "kms", "us-east-1")
				return r
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.authenticate(t, tt.request(t), tt.route)
			wantAuthError(t, err, tt.kind, tt.msg)
			if c.Identity != nil {
				t.Fatalf("refused, yet a caller: %s", c.Identity.ARN)
			}
		})
	}
}

// A request is signed at a time: ±5 minutes of the server's clock, or for a
// presigned one until X-Amz-Date + X-Amz-Expires.
func TestRefusesStaleSignatures(t *testing.T) {
	e := newEnv(t)
	r := kmsRequest(t, "Encrypt", body)
	e.sign(t, r, body, e.root, "kms", "us-east-1")
	pr := e.presign(t, kmsRequest(t, "Encrypt", body), body, e.root, "us-east-1", "600")

	e.clk.add(5 * time.Minute)
	if _, err := e.authenticate(t, r, kmsRoute("Encrypt")); err != nil {
		t.Fatalf("at 5 minutes: %v", err)
	}
	e.clk.add(time.Second)
	_, err := e.authenticate(t, r, kmsRoute("Encrypt"))
	wantAuthError(t, err, sigv4.InvalidSignature, "Signature expired: 20261204T100000Z is now earlier than 20261204T100001Z (20261204T100501Z - 5 min.)")
	if _, err := e.authenticate(t, pr, kmsRoute("Encrypt")); err != nil {
		t.Fatalf("presigned within its expiry: %v", err)
	}
	e.clk.add(5 * time.Minute)
	_, err = e.authenticate(t, pr, kmsRoute("Encrypt"))
	wantAuthError(t, err, sigv4.InvalidSignature, "Request has expired")

	e.clk.set(start.Add(-6 * time.Minute))
	_, err = e.authenticate(t, r, kmsRoute("Encrypt"))
	wantAuthError(t, err, sigv4.InvalidSignature, "Signature not yet current: 20261204T100000Z is still later than 20261204T095900Z (20261204T095400Z + 5 min.)")
}

// Temporary credentials work only with exactly the token issued with them,
// and only until they expire.
func TestSessionTokens(t *testing.T) {
	e := newEnv(t)
	sess := e.session(t, e.user(t, "alice"), 15*time.Minute)
	send := func(t *testing.T, c aws.Credentials) (Caller, error) {
		r := kmsRequest(t, "Encrypt", body)
		e.sign(t, r, body, c, "kms", "us-east-1")
		return e.authenticate(t, r, kmsRoute("Encrypt"))
	}
	t.Run("the issued token", func(t *testing.T) {
		c, err := send(t, sess)
		if err != nil {
			t.Fatal(err)
		}
		if c.Identity.ARN != "arn:aws:iam::"+testAccount+":user/alice" || c.Identity.AccessKeyID != sess.AccessKeyID {
			t.Fatalf("caller %s with %s", c.Identity.ARN, c.Identity.AccessKeyID)
		}
	})
	t.Run("another token", func(t *testing.T) {
		c := sess
		// Another last character: a token that already ended in "x" was
		// sent unchanged (and accepted) one run in 64.
		last := "x"
		if strings.HasSuffix(sess.SessionToken, last) {
			last = "y"
		}
		c.SessionToken = sess.SessionToken[:len(sess.SessionToken)-1] + last
		_, err := send(t, c)
		wantAuthError(t, err, sigv4.UnrecognizedClient, msgUnknownKey)
	})
	t.Run("no token", func(t *testing.T) {
		c := sess
		c.SessionToken = ""
		_, err := send(t, c)
		wantAuthError(t, err, sigv4.UnrecognizedClient, msgUnknownKey)
	})
	t.Run("a token added to a header-signed request unsigned", func(t *testing.T) {
		c := sess
		c.SessionToken = ""
		r := kmsRequest(t, "Encrypt", body)
		e.sign(t, r, body, c, "kms", "us-east-1")
		r.Header.Set("X-Amz-Security-Token", sess.SessionToken)
		_, err := e.authenticate(t, r, kmsRoute("Encrypt"))
		wantAuthError(t, err, sigv4.IncompleteSignature, msgUnsigned)
	})
	t.Run("expired credentials", func(t *testing.T) {
		e.clk.add(15 * time.Minute)
		_, err := send(t, sess)
		wantAuthError(t, err, sigv4.ExpiredToken, "The security token included in the request is expired")
	})
}

// An access key made inactive identifies no one.
func TestInactiveAccessKey(t *testing.T) {
	e := newEnv(t)
	bob := e.user(t, "bob")
	if _, err := e.ids.UpdateAccessKey(context.Background(), e.asRoot(t), &iamapi.UpdateAccessKeyRequest{
		UserName: aws.String("bob"), AccessKeyId: aws.String(bob.AccessKeyID), Status: aws.String("Inactive")}); err != nil {
		t.Fatal(err)
	}
	r := kmsRequest(t, "Encrypt", body)
	e.sign(t, r, body, bob, "kms", "us-east-1")
	_, err := e.authenticate(t, r, kmsRoute("Encrypt"))
	wantAuthError(t, err, sigv4.UnrecognizedClient, msgUnknownKey)
}

// A verified request naming two operations is refused, but only once
// verified: an unverified one gets the signature's error.
func TestTwoOperations(t *testing.T) {
	e := newEnv(t)
	rt := kmsRoute("DescribeKey")
	rt.Ambiguous = true
	r := kmsRequest(t, "DescribeKey", body)
	r.URL.RawQuery = "X-Amz-Target=TrentService.DisableKey"
	e.sign(t, r, body, e.root, "kms", "us-east-1")
	c, err := e.authenticate(t, r, rt)
	if !errors.Is(err, ErrTwoOperations) || c.Identity != nil {
		t.Fatalf("got %v", err)
	}
	if c.Service != "kms" {
		t.Fatalf("service %q: the metrics of a verified request name its service", c.Service)
	}
	r = kmsRequest(t, "DescribeKey", body)
	r.URL.RawQuery = "X-Amz-Target=TrentService.DisableKey"
	_, err = e.authenticate(t, r, rt)
	wantAuthError(t, err, sigv4.MissingAuthenticationToken, "Missing Authentication Token")
}

// Authentication notes the access key's last use, and only for a request
// whose signature verified for the service it is routed to.
func TestNotesLastUse(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice")
	lastUsed := func(t *testing.T) string {
		out, err := e.ids.GetAccessKeyLastUsed(context.Background(), e.asRoot(t), &iamapi.GetAccessKeyLastUsedRequest{AccessKeyId: aws.String(alice.AccessKeyID)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.AccessKeyLastUsed.ServiceName)
	}
	r := kmsRequest(t, "Encrypt", body)
	e.sign(t, r, body, alice, "sts", "us-east-1")
	if _, err := e.authenticate(t, r, kmsRoute("Encrypt")); err == nil {
		t.Fatal("signed for sts, accepted for kms")
	}
	if got := lastUsed(t); got != "N/A" {
		t.Fatalf("refused request noted as a use of %q", got)
	}
	r = kmsRequest(t, "Encrypt", body)
	e.sign(t, r, body, alice, "kms", "us-east-1")
	if _, err := e.authenticate(t, r, kmsRoute("Encrypt")); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(t); got != "kms" {
		t.Fatalf("last used for %q", got)
	}
}

// The listener a request came through, and TLS, are facts of the request.
func TestEndpointAndTransportFacts(t *testing.T) {
	e := newEnv(t)
	p, err := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`), policy.Options{Kind: policy.EndpointKind})
	if err != nil {
		t.Fatal(err)
	}
	ep := &Endpoint{ID: "vpce-0123456789abcdef0", VPC: "vpc-0123456789abcdef0", Policy: p}
	r := kmsRequest(t, "Encrypt", body)
	e.sign(t, r, body, e.root, "kms", "us-east-1")
	got, b := received(t, r)
	got = got.WithContext(WithEndpoint(got.Context(), ep))
	got.TLS = &tls.ConnectionState{}
	c, err := e.a.Authenticate(got, b, kmsRoute("Encrypt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Request.SourceVpce != ep.ID || c.Request.SourceVpc != ep.VPC || c.Request.Endpoint != p || !c.Request.SecureTransport || c.Request.SourceIP != peer {
		t.Fatalf("facts %+v", c.Request)
	}
}

func TestSigned(t *testing.T) {
	e := newEnv(t)
	form := "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
	plain := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "https://sts.amazonaws.com/", strings.NewReader(form))
		return r
	}
	signed := plain()
	e.sign(t, signed, form, e.root, "sts", "us-east-1")
	presigned := e.presign(t, plain(), form, e.root, "us-east-1", "300")
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{name: "no signature", r: plain(), want: false},
		{name: "Authorization header", r: signed, want: true},
		{name: "presigned query", r: presigned, want: true},
		{name: "a lone X-Amz-Credential, any case", r: func() *http.Request { r := plain(); r.URL.RawQuery = "x-amz-CREDENTIAL=a"; return r }(), want: true},
		{name: "a lone X-Amz-Signature", r: func() *http.Request { r := plain(); r.URL.RawQuery = "X-Amz-Signature=a"; return r }(), want: true},
		{name: "a lone X-Amz-Algorithm", r: func() *http.Request { r := plain(); r.URL.RawQuery = "X-Amz-Algorithm=a"; return r }(), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signed(tt.r); got != tt.want {
				t.Fatalf("Signed = %v", got)
			}
		})
	}
}

// An unsigned request has no principal, so it cannot pass an endpoint
// policy; without one it carries the endpoint's facts.
func TestUnsigned(t *testing.T) {
	e := newEnv(t)
	r, _ := http.NewRequest(http.MethodPost, "https://sts.amazonaws.com/", nil)
	r.RemoteAddr = peer + ":1"
	req, err := e.a.Unsigned(r, "AssumeRoleWithSAML")
	if err != nil || req.SourceIP != peer || req.Region != "us-east-1" || !req.Time.Equal(start) || req.SourceVpce != "" {
		t.Fatalf("got %+v, %v", req, err)
	}
	open := r.WithContext(WithEndpoint(r.Context(), &Endpoint{ID: "vpce-1", VPC: "vpc-1"}))
	if req, err = e.a.Unsigned(open, "AssumeRoleWithSAML"); err != nil || req.SourceVpce != "vpce-1" || req.SourceVpc != "vpc-1" {
		t.Fatalf("through an endpoint without a policy: %+v, %v", req, err)
	}
	p, _ := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`), policy.Options{Kind: policy.EndpointKind})
	guarded := r.WithContext(WithEndpoint(r.Context(), &Endpoint{ID: "vpce-2", VPC: "vpc-1", Policy: p}))
	_, err = e.a.Unsigned(guarded, "AssumeRoleWithSAML")
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "AccessDeniedException" || we.Message != "The VPC endpoint vpce-2 has an endpoint policy; AssumeRoleWithSAML is not served through it." {
		t.Fatalf("through an endpoint with a policy: %v", err)
	}
}

func TestNewNeedsARegion(t *testing.T) {
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Fatal("no Region, no error")
	}
}

var _ Directory = (*iam.Directory)(nil)
