package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// suiteDir is the AWS SigV4 signing test suite in the shared reference
// directory next to the checkout.
const suiteDir = "../../../shared/conformance/sigv4/v4"

// signedSeed is a validly signed request as it goes on the wire, and the
// headers its signature lists.
type signedSeed struct {
	name   string
	raw    []byte
	signed []string // lower case
}

// FuzzServeHTTP sends whole requests through the server: SigV4 verification,
// routing, the registered-service rules and the operations, on a real store.
// It is seeded with requests signed by the SDK's signer and presigner (KMS
// operations in the JSON protocol, IAM and STS in the Query protocol, a
// registered service acting for itself and for a caller), with forgeries
// made from them, and with every request of the SigV4 test suite. Every
// signed seed is read-only, so for any input:
//
//   - nothing in the store changes;
//   - the server does not panic, and every error is AWS-shaped (JSON
//     {"__type","message"} or the Query protocol's ErrorResponse) and not an
//     internal error;
//   - a request that differs from every signed seed in what a signature
//     covers (method, path, query, the signed headers' values, the body) or
//     in any x-amz-* header is refused, with an authentication error or an
//     error answered before authentication (an unknown operation, a body
//     too large), and never executed.
//
// An x-amz-* header that repeats a signed query parameter of a presigned
// request exactly is the hoisting SDK presigners do, and carries nothing the
// signature does not: it does not count as a difference.
//
// go test runs the seeds; go test -fuzz FuzzServeHTTP mutates them.
func FuzzServeHTTP(f *testing.F) {
	e := newEnv(f)
	ctx := context.Background()
	svcID, svcSecret, err := e.ids.RegisterService(ctx, serviceName)
	if err != nil {
		f.Fatal(err)
	}
	svc := aws.Credentials{AccessKeyID: svcID, SecretAccessKey: svcSecret}
	const vault = "arn:aws:backup:us-east-1:" + testAccount + ":backup-vault:main"
	key := e.createKey(f, `{"Version":"2012-10-17","Statement":[
	 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},"Action":"kms:*","Resource":"*"},
	 {"Sid":"backup for its vaults","Effect":"Allow","Principal":{"Service":"`+serviceName+`"},"Action":"kms:Encrypt","Resource":"*",
	  "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:backup:us-east-1:`+testAccount+`:backup-vault:*"}}}]}`)
	describe := `{"KeyId":"` + key + `"}`
	encrypt := `{"KeyId":"` + key + `","Plaintext":"dmF1bHQgZGF0YQ=="}`

	var seeds []signedSeed
	add := func(name string, r *http.Request) {
		raw := wireBytes(f, r)
		sr := readRequest(raw)
		if sr == nil {
			f.Fatalf("seed %s does not parse", name)
		}
		seeds = append(seeds, signedSeed{name: name, raw: raw, signed: signedList(sr)})
	}
	signedKMS := func(op, body string, c aws.Credentials, edit func(*http.Request)) *http.Request {
		r := kmsRequest(f, op, body)
		if edit != nil {
			edit(r)
		}
		sign(f, r, body, c, "us-east-1")
		return r
	}
	add("DescribeKey", signedKMS("DescribeKey", describe, rootCreds(), nil))
	add("Encrypt", signedKMS("Encrypt", encrypt, rootCreds(), nil))
	add("ListKeys", signedKMS("ListKeys", "{}", rootCreds(), nil))
	add("presigned DescribeKey", presign(f, kmsRequest(f, "DescribeKey", describe), describe, rootCreds(), "us-east-1"))
	add("service Encrypt for a vault", signedKMS("Encrypt", encrypt, svc, func(r *http.Request) {
		r.Header.Set("X-Trent-Source-Arn", vault)
	}))
	onBehalf := presign(f, kmsRequest(f, "Encrypt", encrypt), encrypt, rootCreds(), "us-east-1").URL.RawQuery
	add("service Encrypt on behalf of root", signedKMS("Encrypt", encrypt, svc, func(r *http.Request) {
		r.Header.Set("X-Trent-On-Behalf-Of", onBehalf)
	}))
	form := "Action=GetUser&Version=2010-05-08"
	iamReq, _ := http.NewRequest(http.MethodPost, "https://iam.amazonaws.com/", strings.NewReader(form))
	iamReq.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := v4.NewSigner().SignHTTP(ctx, rootCreds(), iamReq, hashHex([]byte(form)), "iam", "us-east-1", testNow); err != nil {
		f.Fatal(err)
	}
	add("IAM GetUser", iamReq)
	stsReq, _ := http.NewRequest(http.MethodGet, "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=300", nil)
	u, _, err := v4.NewSigner().PresignHTTP(ctx, rootCreds(), stsReq, hashHex(nil), "sts", "us-east-1", testNow)
	if err != nil {
		f.Fatal(err)
	}
	stsReq, _ = http.NewRequest(http.MethodGet, u, nil)
	add("presigned STS GetCallerIdentity", stsReq)

	// Every signed seed runs, or the invariants would hold vacuously.
	for _, s := range seeds {
		if rec, _ := e.serveBytes(s.raw); rec.Code != 200 {
			f.Fatalf("seed %s: %d %s", s.name, rec.Code, rec.Body)
		}
		f.Add(s.raw)
	}

	// Forgeries of the signed seeds.
	forge := func(r *http.Request, edit func(*http.Request)) {
		edit(r)
		f.Add(wireBytes(f, r))
	}
	for _, op := range []string{"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"} {
		forge(presign(f, kmsRequest(f, "DescribeKey", describe), describe, rootCreds(), "us-east-1"), func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "TrentService."+op)
		})
		forge(presign(f, kmsRequest(f, "", describe), describe, rootCreds(), "us-east-1"), func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "TrentService."+op)
		})
		forge(signedKMS("", describe, rootCreds(), nil), func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "TrentService."+op)
		})
	}
	forge(signedKMS("Encrypt", encrypt, svc, nil), func(r *http.Request) {
		r.Header.Set("X-Trent-Source-Arn", vault)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=", "Foo=SignedHeaders=x-trent-source-arn, SignedHeaders=", 1))
	})
	forge(signedKMS("Encrypt", encrypt, rootCreds(), nil), func(r *http.Request) {
		r.Header.Set("X-Amz-Security-Token", "token")
	})

	// The SigV4 suite: signed for its own service, so refused here, but
	// shaped as clients shape requests.
	files, _ := filepath.Glob(filepath.Join(suiteDir, "*", "*-signed-request.txt"))
	if len(files) == 0 {
		f.Fatal("no SigV4 suite requests in " + suiteDir)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}

	views := make([]string, len(seeds))
	for i, s := range seeds {
		views[i] = signedView(readRequest(s.raw), s.signed)
	}
	before := e.snapshot(f)

	f.Fuzz(func(t *testing.T, raw []byte) {
		r := readRequest(raw)
		if r == nil {
			return
		}
		rec, ok := e.serveBytes(raw)
		if !ok {
			t.Fatal("readable once, not twice")
		}
		if after := e.snapshot(t); !maps.Equal(before, after) {
			t.Fatalf("the store changed: %d %s", rec.Code, rec.Body)
		}
		same := false
		for i, s := range seeds {
			if signedView(r, s.signed) == views[i] {
				same = true
				break
			}
		}
		if rec.Code == 200 {
			if !same {
				t.Fatalf("executed a request that differs from every signed one: %s", rec.Body)
			}
			return
		}
		code := errorCode(t, rec)
		if rec.Code >= 500 {
			t.Fatalf("internal error %d %s", rec.Code, rec.Body)
		}
		if !same && !refusal[code] {
			t.Fatalf("a request that differs from every signed one got %d %s", rec.Code, rec.Body)
		}
	})
}

// refusal holds the errors a request that no one signed may get: AWS's
// authentication errors in the JSON and Query protocols, and those answered
// before authentication.
var refusal = map[string]bool{
	"MissingAuthenticationTokenException": true, "IncompleteSignatureException": true,
	"InvalidSignatureException": true, "UnrecognizedClientException": true, "ExpiredTokenException": true,
	"MissingAuthenticationToken": true, "IncompleteSignature": true, "SignatureDoesNotMatch": true,
	"InvalidClientTokenId": true, "ExpiredToken": true,
	"UnknownOperationException": true, "RequestEntityTooLargeException": true, "SerializationException": true,
}

// errorCode checks that rec is an AWS error of either protocol and returns
// its code.
func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Header().Get("X-Amzn-Requestid") == "" {
		t.Fatalf("error without a request id: %s", body)
	}
	switch ct := rec.Header().Get("Content-Type"); {
	case ct == "application/x-amz-json-1.1":
		var e jsonError
		if err := json.Unmarshal(body, &e); err != nil || e.Type == "" {
			t.Fatalf("not a JSON error: %s", body)
		}
		return e.Type
	case strings.HasPrefix(ct, "text/xml"):
		s := string(body)
		start, end := strings.Index(s, "<Code>"), strings.Index(s, "</Code>")
		if !strings.HasPrefix(s, "<ErrorResponse") || start < 0 || end < start || !strings.Contains(s, "<RequestId>") {
			t.Fatalf("not an XML error: %s", s)
		}
		return s[start+len("<Code>") : end]
	default:
		t.Fatalf("error of type %q: %s", ct, body)
	}
	return ""
}

// readRequest parses a request as net/http's server does, body included;
// nil if raw is not one.
func readRequest(raw []byte) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

// signedList is the header list of a seed's signature, from either form
// (the SDK wrote it, so a plain search will do).
func signedList(r *http.Request) []string {
	list := queryOf(r).Get("X-Amz-SignedHeaders")
	if a := r.Header.Get("Authorization"); a != "" {
		_, rest, _ := strings.Cut(a, "SignedHeaders=")
		list, _, _ = strings.Cut(rest, ",")
	}
	return strings.Split(list, ";")
}

// signedView is what a signature with the given header list covers in r,
// plus every x-amz-* header, written out so that two requests that SigV4
// cannot tell apart have the same view; it errs on the side of calling
// requests the same. It is computed independently of the verifier.
func signedView(r *http.Request, signed []string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	p := r.URL.EscapedPath()
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		p, _, _ = strings.Cut(u, "?")
	}
	b.WriteString(path.Clean("/" + p))
	b.WriteByte('\n')
	var query []string
	presigned := false
	for _, seg := range strings.Split(r.URL.RawQuery, "&") {
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		k, v = lenientUnescape(k), lenientUnescape(v)
		if k == "X-Amz-Signature" {
			presigned = true
			continue
		}
		query = append(query, k+"="+v)
	}
	slices.Sort(query)
	b.WriteString(strings.Join(query, "&"))
	b.WriteByte('\n')
	names := slices.Clone(signed)
	for k := range r.Header {
		if len(k) >= 6 && strings.EqualFold(k[:6], "x-amz-") {
			names = append(names, strings.ToLower(k))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		var vs []string
		if n == "host" {
			vs = []string{r.Host}
		} else {
			vs = slices.Clone(r.Header[textproto.CanonicalMIMEHeaderKey(n)])
		}
		if presigned && !slices.Contains(signed, n) && hoistedInto(r.URL.RawQuery, n, vs) {
			continue
		}
		for i, v := range vs {
			vs[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(n + ":" + strings.Join(vs, ",") + "\n")
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	b.Write(body)
	return b.String()
}

// hoistedInto reports whether the query parameters named name (in any case)
// are exactly vs.
func hoistedInto(rawQuery, name string, vs []string) bool {
	var qs []string
	for _, seg := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(seg, "=")
		if k = lenientUnescape(k); k != "X-Amz-Signature" && strings.EqualFold(k, name) {
			qs = append(qs, lenientUnescape(v))
		}
	}
	return len(vs) > 0 && slices.Equal(qs, vs)
}

// lenientUnescape decodes '+' and valid %XX escapes and keeps anything else
// as it is, as SigV4 verifiers read a query.
func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			b.WriteByte(unhexDigit(s[i+1])<<4 | unhexDigit(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhexDigit(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
