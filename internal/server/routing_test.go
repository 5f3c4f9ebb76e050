package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

func TestOperationTarget(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		query  string
		target string
		single bool
	}{
		{name: "none", target: "", single: true},
		{name: "header", header: []string{"TrentService.Encrypt"}, target: "TrentService.Encrypt", single: true},
		{name: "query parameter, as presigners hoist it", query: "X-Amz-Target=TrentService.Encrypt", target: "TrentService.Encrypt", single: true},
		{name: "query parameter in any case", query: "x-amz-target=TrentService.Encrypt", target: "TrentService.Encrypt", single: true},
		{name: "header and query agree", header: []string{"TrentService.Encrypt"}, query: "X-Amz-Target=TrentService.Encrypt", target: "TrentService.Encrypt", single: true},
		{name: "header and query differ", header: []string{"TrentService.Encrypt"}, query: "X-Amz-Target=TrentService.DisableKey", target: "TrentService.Encrypt", single: false},
		{name: "two header values", header: []string{"TrentService.Encrypt", "TrentService.DisableKey"}, target: "TrentService.Encrypt", single: false},
		{name: "two query parameters in different case", query: "X-Amz-Target=TrentService.Encrypt&x-amz-target=TrentService.DisableKey", single: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/?"+tt.query, nil)
			if tt.header != nil {
				r.Header["X-Amz-Target"] = tt.header
			}
			target, single := operationTarget(r)
			if single != tt.single || (tt.target != "" || tt.single) && target != tt.target {
				t.Fatalf("got %q %v, want %q %v", target, single, tt.target, tt.single)
			}
		})
	}
}

// Authentication errors are encoded as each protocol's clients read them:
// the JSON protocol's exception names, and the Query protocol's codes, all
// 403 there.
func TestAuthErrorEncoding(t *testing.T) {
	tests := []struct {
		name              string
		err               error
		json, query       string
		jsonStatus, qStat int
	}{
		{"missing", &sigv4.Error{Kind: sigv4.MissingAuthenticationToken, Message: "m"}, "MissingAuthenticationTokenException", "MissingAuthenticationToken", 403, 403},
		{"incomplete", &sigv4.Error{Kind: sigv4.IncompleteSignature, Message: "m"}, "IncompleteSignatureException", "IncompleteSignature", 400, 403},
		{"mismatch", &sigv4.Error{Kind: sigv4.InvalidSignature, Message: "m"}, "InvalidSignatureException", "SignatureDoesNotMatch", 400, 403},
		{"unrecognized", &sigv4.Error{Kind: sigv4.UnrecognizedClient, Message: "m"}, "UnrecognizedClientException", "InvalidClientTokenId", 400, 403},
		{"expired", &sigv4.Error{Kind: sigv4.ExpiredToken, Message: "m"}, "ExpiredTokenException", "ExpiredToken", 400, 403},
		{"unknown key", sigv4.ErrUnknownAccessKey, "UnrecognizedClientException", "InvalidClientTokenId", 400, 403},
		{"expired credentials", sigv4.ErrExpiredToken, "ExpiredTokenException", "ExpiredToken", 400, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j, q *wire.Error
			if !errors.As(authError(tt.err), &j) || j.Code != tt.json || j.Status != tt.jsonStatus {
				t.Fatalf("JSON: %v", authError(tt.err))
			}
			if !errors.As(queryAuthError(tt.err), &q) || q.Code != tt.query || q.Status != tt.qStat {
				t.Fatalf("Query: %v", queryAuthError(tt.err))
			}
		})
	}
	// Anything else is internal: it stays an error the encoders answer
	// with a fixed text, never its own.
	internal := errors.New("sealed secret does not open")
	if err := authError(internal); err != internal {
		t.Fatalf("internal error mapped to %v", err)
	}
	rec := httptest.NewRecorder()
	wire.WriteError(rec, "id", authError(internal))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "sealed") {
		t.Fatalf("internal error written as %d %s", rec.Code, rec.Body)
	}
}

// queryRequest is a Query protocol request to host with the form body.
func queryRequest(t *testing.T, host, form string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://"+host+"/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

func signAs(t *testing.T, r *http.Request, body string, c aws.Credentials, service, region string) *http.Request {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), c, r, hashHex([]byte(body)), service, region, testNow); err != nil {
		t.Fatal(err)
	}
	return r
}

// Routing: which protocol and operation a request is for, what is answered
// before authentication, and which errors each protocol gets.
func TestRouting(t *testing.T) {
	e := newEnv(t)
	unknownKey := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: rootSecret}
	const (
		jsonType = "application/x-amz-json-1.1"
		xmlType  = "text/xml"
	)
	tests := []struct {
		name     string
		req      func(t *testing.T) *http.Request
		status   int
		ctype    string
		contains []string
	}{
		{name: "an unknown JSON target, before authentication", status: 400, ctype: jsonType,
			contains: []string{`"__type":"UnknownOperationException"`},
			req: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "", "{}")
				r.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
				return r
			}},
		{name: "a KMS target over GET", status: 400, ctype: jsonType,
			contains: []string{`"__type":"UnknownOperationException"`},
			req: func(t *testing.T) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, "https://"+testHost+"/", nil)
				r.Header.Set("X-Amz-Target", "TrentService.ListKeys")
				return r
			}},
		{name: "a form with no Action", status: 400, ctype: jsonType,
			contains: []string{`"__type":"UnknownOperationException"`},
			req: func(t *testing.T) *http.Request {
				return signAs(t, queryRequest(t, "iam.amazonaws.com", "Version=2010-05-08"), "Version=2010-05-08", rootCreds(), "iam", "us-east-1")
			}},
		{name: "a Query request for a service Trent does not serve", status: 400, ctype: xmlType,
			contains: []string{"<Code>UnknownOperationException</Code>", "<Message>Trent does not serve sns: it serves " + served + ".</Message>"},
			req: func(t *testing.T) *http.Request {
				return signAs(t, queryRequest(t, "sns.us-east-1.amazonaws.com", "Action=ListTopics"), "Action=ListTopics", rootCreds(), "sns", "us-east-1")
			}},
		{name: "a body over 1 MiB", status: 413, ctype: jsonType,
			contains: []string{`"__type":"RequestEntityTooLargeException"`},
			req: func(t *testing.T) *http.Request {
				return kmsRequest(t, "Encrypt", strings.Repeat(" ", maxBody+1))
			}},
		{name: "an unknown KMS operation, unsigned: authentication first", status: 403, ctype: jsonType,
			contains: []string{`"__type":"MissingAuthenticationTokenException"`},
			req:      func(t *testing.T) *http.Request { return kmsRequest(t, "NoSuchOperation", "{}") }},
		{name: "an unknown KMS operation, signed", status: 400, ctype: jsonType,
			contains: []string{`"__type":"UnknownOperationException"`},
			req: func(t *testing.T) *http.Request {
				return signAs(t, kmsRequest(t, "NoSuchOperation", "{}"), "{}", rootCreds(), "kms", "us-east-1")
			}},
		{name: "a TrentAdmin operation signed for kms", status: 200, ctype: jsonType,
			contains: []string{`"Services"`},
			req: func(t *testing.T) *http.Request {
				r := kmsRequest(t, "", "{}")
				r.Header.Set("X-Amz-Target", "TrentAdmin.ListServices")
				return signAs(t, r, "{}", rootCreds(), "kms", "us-east-1")
			}},
		{name: "an unknown IAM action, signed", status: 400, ctype: xmlType,
			contains: []string{`<ErrorResponse xmlns="` + iamapi.Namespace + `">`, "<Code>InvalidAction</Code>", "<Message>Could not find operation NoSuch for version 2010-05-08</Message>"},
			req: func(t *testing.T) *http.Request {
				const form = "Action=NoSuch&Version=2010-05-08"
				return signAs(t, queryRequest(t, "iam.amazonaws.com", form), form, rootCreds(), "iam", "us-east-1")
			}},
		{name: "an STS action, dispatched by the signed service", status: 200, ctype: xmlType,
			contains: []string{"<GetCallerIdentityResponse", "<Arn>arn:aws:iam::" + testAccount + ":root</Arn>"},
			req: func(t *testing.T) *http.Request {
				const form = "Action=GetCallerIdentity&Version=2011-06-15"
				return signAs(t, queryRequest(t, "sts.amazonaws.com", form), form, rootCreds(), "sts", "us-east-1")
			}},
		{name: "an STS action signed for IAM is looked up among IAM's", status: 400, ctype: xmlType,
			contains: []string{"<Code>InvalidAction</Code>"},
			req: func(t *testing.T) *http.Request {
				const form = "Action=GetCallerIdentity&Version=2011-06-15"
				return signAs(t, queryRequest(t, "iam.amazonaws.com", form), form, rootCreds(), "iam", "us-east-1")
			}},
		{name: "an unknown access key, JSON", status: 400, ctype: jsonType,
			contains: []string{`"__type":"UnrecognizedClientException"`, "The security token included in the request is invalid."},
			req: func(t *testing.T) *http.Request {
				return signAs(t, kmsRequest(t, "ListKeys", "{}"), "{}", unknownKey, "kms", "us-east-1")
			}},
		{name: "an unknown access key, Query", status: 403, ctype: xmlType,
			contains: []string{"<Code>InvalidClientTokenId</Code>", "The security token included in the request is invalid."},
			req: func(t *testing.T) *http.Request {
				const form = "Action=GetUser&Version=2010-05-08"
				return signAs(t, queryRequest(t, "iam.amazonaws.com", form), form, unknownKey, "iam", "us-east-1")
			}},
		{name: "an unsigned STS operation that needs a signature", status: 403, ctype: xmlType,
			contains: []string{"<Code>MissingAuthenticationToken</Code>"},
			req: func(t *testing.T) *http.Request {
				return queryRequest(t, "sts.amazonaws.com", "Action=GetCallerIdentity&Version=2011-06-15")
			}},
		{name: "AssumeRoleWithWebIdentity unsigned is served by its token", status: 400, ctype: xmlType,
			contains: []string{`<ErrorResponse xmlns="` + stsapi.Namespace + `">`, "<Code>ValidationError</Code>"},
			req: func(t *testing.T) *http.Request {
				return queryRequest(t, "sts.amazonaws.com", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15")
			}},
		{name: "AssumeRoleWithWebIdentity with a signature is verified like any request", status: 403, ctype: xmlType,
			contains: []string{"<Code>InvalidClientTokenId</Code>"},
			req: func(t *testing.T) *http.Request {
				const form = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
				return signAs(t, queryRequest(t, "sts.amazonaws.com", form), form, unknownKey, "sts", "us-east-1")
			}},
		{name: "AssumeRoleWithWebIdentity with a lone presigned credential is verified", status: 403, ctype: xmlType,
			contains: []string{"<Code>IncompleteSignature</Code>"},
			req: func(t *testing.T) *http.Request {
				r := queryRequest(t, "sts.amazonaws.com", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15")
				r.URL.RawQuery = "X-Amz-Credential=" + rootKeyID + "%2F20150830%2Fus-east-1%2Fsts%2Faws4_request"
				return r
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.serve(t, tt.req(t))
			if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.ctype) {
				t.Fatalf("got %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(rec.Body.String(), s) {
					t.Fatalf("%s lacks %s", rec.Body, s)
				}
			}
			if len(rec.Header().Get("X-Amzn-Requestid")) != 36 {
				t.Fatalf("no request id: %v", rec.Header())
			}
		})
	}
}

func TestRouteOf(t *testing.T) {
	const snsCredential = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=00"
	tests := []struct {
		name   string
		method string
		url    string
		target string
		body   string
		auth   string
		ok     bool
		proto  protocol
		op     string
	}{
		{name: "KMS", method: "POST", target: "TrentService.Encrypt", ok: true, proto: protoKMS, op: "Encrypt"},
		{name: "KMS over GET", method: "GET", target: "TrentService.ListKeys"},
		{name: "Organizations", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", ok: true, proto: protoOrg, op: "DescribeOrganization"},
		{name: "TrentAdmin", method: "POST", target: "TrentAdmin.ListServices", ok: true, proto: protoAdmin, op: "ListServices"},
		{name: "another service's target", method: "POST", target: "DynamoDB_20120810.GetItem"},
		{name: "a bare prefix is an empty operation", method: "POST", target: "TrentService.", ok: true, proto: protoKMS, op: ""},
		{name: "Query form", method: "POST", body: "Action=GetUser&Version=2010-05-08", ok: true, proto: protoQuery, op: "GetUser"},
		{name: "Query over GET", method: "GET", url: "/?Action=GetCallerIdentity&Version=2011-06-15", ok: true, proto: protoQuery, op: "GetCallerIdentity"},
		{name: "GET ignores the body", method: "GET", body: "Action=GetUser"},
		{name: "Query over PUT", method: "PUT", body: "Action=GetUser"},
		{name: "no Action", method: "POST", body: "Version=2010-05-08"},
		{name: "signed for a service Trent does not serve", method: "POST", body: "Action=ListTopics", auth: snsCredential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = "/"
			}
			r := httptest.NewRequest(tt.method, u, strings.NewReader(tt.body))
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rt, ok := routeOf(r, []byte(tt.body))
			if ok != tt.ok || ok && (rt.proto != tt.proto || rt.op != tt.op) {
				t.Fatalf("got %v %d %q, want %v %d %q", ok, rt.proto, rt.op, tt.ok, tt.proto, tt.op)
			}
			if ok && tt.proto == protoQuery && rt.params.Get("Action") != tt.op {
				t.Fatalf("params %v", rt.params)
			}
			if ok && tt.proto != protoQuery && (rt.target != tt.target || !rt.single) {
				t.Fatalf("target %q single %v", rt.target, rt.single)
			}
		})
	}
}
