package authn

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

const vault = "arn:aws:backup:us-east-1:" + testAccount + ":backup-vault:main"

// A registered service acting for itself names what it acts for in headers
// its verified signature must cover (docs/SERVICES.md); from anyone else
// they count for nothing.
func TestServiceActingForItself(t *testing.T) {
	e := newEnv(t)
	t.Run("signed source headers", func(t *testing.T) {
		r := kmsRequest(t, "Encrypt", body)
		r.Header.Set(sourceARNHeader, vault)
		r.Header.Set(sourceAccountHeader, testAccount)
		e.sign(t, r, body, e.svc, "kms", "us-east-1")
		c, err := e.authenticate(t, r, kmsRoute("Encrypt"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Identity.ARN != serviceName || c.Request.SourceARN != vault || c.Request.SourceAccount != testAccount || c.Request.ViaService != "" {
			t.Fatalf("caller %s, facts %+v", c.Identity.ARN, c.Request)
		}
	})
	for _, h := range []string{sourceARNHeader, sourceAccountHeader, onBehalfOfHeader} {
		t.Run(h+" added after signing", func(t *testing.T) {
			r := kmsRequest(t, "Encrypt", body)
			e.sign(t, r, body, e.svc, "kms", "us-east-1")
			r.Header.Set(h, "x")
			_, err := e.authenticate(t, r, kmsRoute("Encrypt"))
			wantAuthError(t, err, sigv4.IncompleteSignature, "The "+h+" header must be signed.")
		})
	}
	t.Run("from a principal that is not a service", func(t *testing.T) {
		r := kmsRequest(t, "Encrypt", body)
		r.Header.Set(sourceARNHeader, vault)
		r.Header.Set(sourceAccountHeader, testAccount)
		e.sign(t, r, body, e.root, "kms", "us-east-1")
		c, err := e.authenticate(t, r, kmsRoute("Encrypt"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Identity.ARN != rootARN() || c.Request.SourceARN != "" || c.Request.SourceAccount != "" {
			t.Fatalf("caller %s, facts %+v", c.Identity.ARN, c.Request)
		}
	})
}

// forward is the request a service sends for a caller: the caller's
// presigned request, its query in X-Trent-On-Behalf-Of, signed by the
// service (edit runs before the service signs).
func (e *env) forward(t *testing.T, presigned *http.Request, svc aws.Credentials, region string, edit func(*http.Request)) *http.Request {
	t.Helper()
	r := kmsRequest(t, "Encrypt", body)
	r.Header.Set(onBehalfOfHeader, presigned.URL.RawQuery)
	if edit != nil {
		edit(r)
	}
	e.sign(t, r, body, svc, "kms", region)
	return r
}

// A service acts for a caller only with the caller's own signature of the
// very request: same operation, body, service and Region, within the
// caller's expiry, and never for another service (docs/SERVICES.md, "A
// service acting for a caller"; docs/SECURITY.md, X-Trent-On-Behalf-Of).
func TestServiceOnBehalfOfACaller(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice")
	callerPresign := func(t *testing.T, c aws.Credentials, op, region string) *http.Request {
		return e.presign(t, kmsRequest(t, op, body), body, c, region, "300")
	}
	t.Run("the caller's presigned request", func(t *testing.T) {
		r := e.forward(t, callerPresign(t, alice, "Encrypt", "us-east-1"), e.svc, "us-east-1", nil)
		c, err := e.authenticate(t, r, kmsRoute("Encrypt"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Identity.ARN != "arn:aws:iam::"+testAccount+":user/alice" || c.Request.ViaService != serviceName || c.Request.SourceARN != "" {
			t.Fatalf("caller %s, facts %+v", c.Identity.ARN, c.Request)
		}
	})
	t.Run("the caller's temporary credentials", func(t *testing.T) {
		sess := e.session(t, alice, 15*time.Minute)
		r := e.forward(t, callerPresign(t, sess, "Encrypt", "us-east-1"), e.svc, "us-east-1", nil)
		c, err := e.authenticate(t, r, kmsRoute("Encrypt"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Identity.AccessKeyID != sess.AccessKeyID || c.Request.ViaService != serviceName {
			t.Fatalf("caller %s (%s), facts %+v", c.Identity.ARN, c.Identity.AccessKeyID, c.Request)
		}
	})

	other, otherSecret, err := e.ids.RegisterService(context.Background(), "other.example.internal")
	if err != nil {
		t.Fatal(err)
	}
	otherSvc := aws.Credentials{AccessKeyID: other, SecretAccessKey: otherSecret}
	tests := []struct {
		name  string
		req   func(t *testing.T) *http.Request
		query bool // sent as a Query request, routed by no target
		kind  sigv4.Kind
		msg   string
	}{
		{name: "the caller signed for another Region", kind: sigv4.InvalidSignature, msg: msgRegionScope,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, alice, "Encrypt", "eu-west-1"), e.svc, "us-east-1", nil)
			}},
		{name: "the caller signed another operation", kind: sigv4.IncompleteSignature, msg: msgUnsigned,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, alice, "DescribeKey", "us-east-1"), e.svc, "us-east-1", nil)
			}},
		{name: "the caller signed no operation", kind: sigv4.IncompleteSignature, msg: msgUnsigned,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, alice, "", "us-east-1"), e.svc, "us-east-1", nil)
			}},
		{name: "the service changed the body", kind: sigv4.InvalidSignature, msg: msgMismatch,
			req: func(t *testing.T) *http.Request {
				pr := e.presign(t, kmsRequest(t, "Encrypt", `{"KeyId":"alias/other","Plaintext":"aGVsbG8="}`), `{"KeyId":"alias/other","Plaintext":"aGVsbG8="}`, alice, "us-east-1", "300")
				return e.forward(t, pr, e.svc, "us-east-1", nil)
			}},
		{name: "the service added an x-amz-* header the caller did not sign", kind: sigv4.IncompleteSignature, msg: msgUnsigned,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, alice, "Encrypt", "us-east-1"), e.svc, "us-east-1", func(r *http.Request) { r.Header.Set("X-Amz-Meta", "x") })
			}},
		{name: "the caller signed for another service", kind: sigv4.InvalidSignature, msg: "Credential should be scoped to correct service: 'kms'. ",
			req: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "Encrypt", body)
				q := r.URL.Query()
				q.Set("X-Amz-Expires", "300")
				r.URL.RawQuery = q.Encode()
				u, _, err := v4.NewSigner().PresignHTTP(context.Background(), alice, r, hashHex(body), "sts", "us-east-1", e.clk.now())
				if err != nil {
					t.Fatal(err)
				}
				pr, _ := http.NewRequest(http.MethodPost, u, nil)
				return e.forward(t, pr, e.svc, "us-east-1", nil)
			}},
		{name: "the forwarded authorization is no signature", kind: sigv4.MissingAuthenticationToken, msg: "Missing Authentication Token",
			req: func(t *testing.T) *http.Request {
				pr, _ := http.NewRequest(http.MethodPost, "https://"+kmsHost+"/?X-Amz-Target=TrentService.Encrypt", nil)
				return e.forward(t, pr, e.svc, "us-east-1", nil)
			}},
		{name: "an unknown caller", kind: sigv4.UnrecognizedClient, msg: msgUnknownKey,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: rootSecret}, "Encrypt", "us-east-1"), e.svc, "us-east-1", nil)
			}},
		{name: "the caller is another service", kind: sigv4.InvalidSignature, msg: "A service cannot act on behalf of another service.",
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, otherSvc, "Encrypt", "us-east-1"), e.svc, "us-east-1", nil)
			}},
		{name: "a Query request", kind: sigv4.IncompleteSignature, msg: "The forwarded authorization must be a presigned request that signs X-Amz-Target.", query: true,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, alice, "Encrypt", "us-east-1"), e.svc, "us-east-1", nil)
			}},
		{name: "the service's own signature does not verify", kind: sigv4.InvalidSignature, msg: msgMismatch,
			req: func(t *testing.T) *http.Request {
				return e.forward(t, callerPresign(t, alice, "Encrypt", "us-east-1"), aws.Credentials{AccessKeyID: e.svc.AccessKeyID, SecretAccessKey: "not the secret"}, "us-east-1", nil)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := kmsRoute("Encrypt")
			if tt.query {
				rt = Route{}
			}
			c, err := e.authenticate(t, tt.req(t), rt)
			wantAuthError(t, err, tt.kind, tt.msg)
			if c.Identity != nil {
				t.Fatalf("refused, yet a caller: %s", c.Identity.ARN)
			}
		})
	}

	t.Run("after the caller's expiry", func(t *testing.T) {
		pr := callerPresign(t, alice, "Encrypt", "us-east-1")
		e.clk.add(301 * time.Second)
		_, err := e.authenticate(t, e.forward(t, pr, e.svc, "us-east-1", nil), kmsRoute("Encrypt"))
		wantAuthError(t, err, sigv4.InvalidSignature, "Request has expired")
	})
	t.Run("sent by a principal that is not a service", func(t *testing.T) {
		// Root forwarding alice's presigned request is root's request: the
		// header is read only for registered services.
		r := e.forward(t, callerPresign(t, alice, "Encrypt", "us-east-1"), e.root, "us-east-1", nil)
		c, err := e.authenticate(t, r, kmsRoute("Encrypt"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Identity.ARN != rootARN() || c.Request.ViaService != "" {
			t.Fatalf("caller %s, facts %+v", c.Identity.ARN, c.Request)
		}
	})
}

// A service acting for an account of the organization carries that
// account's organization (aws:SourceOrgID, aws:SourceOrgPaths), and every
// caller of the organization its aws:PrincipalOrgID.
func TestOrganizationFacts(t *testing.T) {
	e := newEnv(t)
	out, err := e.ids.CreateOrganization(context.Background(), e.asRoot(t), &orgapi.CreateOrganizationRequest{FeatureSet: aws.String("ALL")})
	if err != nil {
		t.Fatal(err)
	}
	orgID := *out.Organization.Id
	scope := e.ids.OrgScope(testAccount)
	if scope == nil || len(scope.Paths) == 0 {
		t.Fatal("the management account has no org path")
	}

	r := kmsRequest(t, "Encrypt", body)
	r.Header.Set(sourceARNHeader, vault)
	r.Header.Set(sourceAccountHeader, testAccount)
	e.sign(t, r, body, e.svc, "kms", "us-east-1")
	c, err := e.authenticate(t, r, kmsRoute("Encrypt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Request.SourceOrgID != orgID || c.Request.SourceOrgPath != scope.Paths[0] || c.Request.OrgID != "" {
		t.Fatalf("service facts %+v, want org %s path %s", c.Request, orgID, scope.Paths[0])
	}

	r = kmsRequest(t, "Encrypt", body)
	r.Header.Set(sourceAccountHeader, "444455556666")
	e.sign(t, r, body, e.svc, "kms", "us-east-1")
	if c, err = e.authenticate(t, r, kmsRoute("Encrypt")); err != nil {
		t.Fatal(err)
	}
	if c.Request.SourceOrgID != "" || c.Request.SourceOrgPath != "" {
		t.Fatalf("an account outside the organization: %+v", c.Request)
	}

	r = kmsRequest(t, "Encrypt", body)
	e.sign(t, r, body, e.root, "kms", "us-east-1")
	if c, err = e.authenticate(t, r, kmsRoute("Encrypt")); err != nil {
		t.Fatal(err)
	}
	if c.Request.OrgID != orgID || c.Request.SourceOrgID != "" {
		t.Fatalf("root's facts %+v, want aws:PrincipalOrgID %s", c.Request, orgID)
	}
}
