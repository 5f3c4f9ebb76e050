package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/testenv"
)

// suiteDir is the AWS SigV4 signing test suite (awslabs/aws-c-auth), kept in
// the shared reference directory next to the checkout.
const suiteDir = "../../../shared/conformance/sigv4/v4"

type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Normalize bool      `json:"normalize"`
	Region    string    `json:"region"`
	Service   string    `json:"service"`
	Timestamp time.Time `json:"timestamp"`
}

// staticLookup serves one access key.
type staticLookup struct {
	id    string
	creds Credentials
	err   error
}

func (l staticLookup) Secret(_ context.Context, id string) (Credentials, error) {
	if l.err != nil {
		return Credentials{}, l.err
	}
	if id != l.id {
		return Credentials{}, fmt.Errorf("no key %q: %w", id, ErrUnknownAccessKey)
	}
	return l.creds, nil
}

// readSuiteRequest parses a request file of the suite. The files are not
// always valid HTTP (raw spaces and UTF-8 in the request target, folded
// header lines), so they are parsed by hand into what net/http's server
// would hand over: RequestURI as sent, Host moved out of the header map.
func readSuiteRequest(t testing.TB, data []byte) (*http.Request, []byte) {
	t.Helper()
	head, body, _ := bytes.Cut(data, []byte("\n\n"))
	lines := strings.Split(string(head), "\n")
	first := lines[0]
	method, rest, _ := strings.Cut(first, " ")
	target := rest[:strings.LastIndexByte(rest, ' ')]
	r := &http.Request{Method: method, RequestURI: target, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	path, query, _ := strings.Cut(target, "?")
	r.URL = &url.URL{Path: path, RawQuery: query}
	var last string
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' { // folded continuation line
			vs := r.Header[last]
			vs[len(vs)-1] += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		last = textproto.CanonicalMIMEHeaderKey(name)
		r.Header[last] = append(r.Header[last], value)
	}
	if h := r.Header["Host"]; len(h) > 0 {
		r.Host = strings.TrimSpace(h[0])
		delete(r.Header, "Host")
	}
	if cl := r.Header.Get("Content-Length"); cl != "" {
		r.ContentLength, _ = strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
	}
	return r, body
}

func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// refusedVectors are the suite's cases this verifier refuses on purpose.
// post-sts-header-after adds X-Amz-Security-Token after signing, which AWS
// allows only for services that say so ("Some services require that you add
// X-Amz-Security-Token to the canonical request. Other services require only
// that you add X-Amz-Security-Token at the end, after you calculate the
// signature", IAM User Guide, create-signed-request): KMS, IAM and STS are
// not among them, every SDK and the CLI sign the token, and SigV4 requires
// "any x-amz-* headers in the signature" (same page, CanonicalHeaders).
var refusedVectors = map[string]struct {
	kind Kind
	msg  string
}{
	"post-sts-header-after/header": {IncompleteSignature, msgUnsignedHeaders},
	// In the query the token is one more parameter the signature does not
	// cover.
	"post-sts-header-after/query": {InvalidSignature, msgSignatureMismatch},
}

func TestConformanceSuite(t *testing.T) {
	entries, err := os.ReadDir(suiteDir)
	if errors.Is(err, os.ErrNotExist) {
		testenv.Missing(t, "SigV4 test suite not found at %s", suiteDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(suiteDir, e.Name())
		var sc suiteContext
		if err := json.Unmarshal([]byte(readFile(t, dir, "context.json")), &sc); err != nil {
			t.Fatal(err)
		}
		for _, form := range []string{"header", "query"} {
			n++
			t.Run(e.Name()+"/"+form, func(t *testing.T) {
				v := NewVerifier(staticLookup{id: sc.Credentials.AccessKeyID, creds: Credentials{
					Secret: sc.Credentials.SecretAccessKey, SessionToken: sc.Credentials.Token,
				}}, Options{Now: func() time.Time { return sc.Timestamp }})
				v.unnormalized = !sc.Normalize
				signed := readFile(t, dir, form+"-signed-request.txt")
				r, body := readSuiteRequest(t, []byte(signed))
				if want, ok := refusedVectors[e.Name()+"/"+form]; ok {
					_, err := v.Verify(context.Background(), r, body)
					var e *Error
					if !errors.As(err, &e) || e.Kind != want.kind || e.Message != want.msg {
						t.Fatalf("got %v, want %s %q", err, want.kind, want.msg)
					}
					return
				}
				var tr trace
				res, err := v.verify(context.Background(), r, body, v.now(), &tr)
				if got, want := tr.canonicalRequest, readFile(t, dir, form+"-canonical-request.txt"); got != want {
					t.Errorf("canonical request:\n%s\nwant:\n%s", got, want)
				}
				if got, want := tr.stringToSign, readFile(t, dir, form+"-string-to-sign.txt"); got != want {
					t.Errorf("string to sign:\n%s\nwant:\n%s", got, want)
				}
				if got, want := tr.signature, strings.TrimSpace(readFile(t, dir, form+"-signature.txt")); got != want {
					t.Errorf("signature %s, want %s", got, want)
				}
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.AccessKeyID != sc.Credentials.AccessKeyID || res.Region != sc.Region || res.Service != sc.Service ||
					!res.SignedAt.Equal(sc.Timestamp) || res.Presigned != (form == "query") {
					t.Errorf("result %+v", res)
				}

				// Any changed byte of what is signed must be rejected: try
				// the host, the method and the signature.
				for _, mutate := range []struct {
					name string
					f    func(string) string
				}{
					{"host", func(s string) string { return strings.Replace(s, "example.amazonaws.com", "exbmple.amazonaws.com", 1) }},
					{"method", func(s string) string { return "X" + s }},
					{"signature", func(s string) string {
						i := strings.Index(s, "Signature=") + len("Signature=")
						c := byte('0')
						if s[i] == '0' {
							c = '1'
						}
						return s[:i] + string(c) + s[i+1:]
					}},
				} {
					r, body := readSuiteRequest(t, []byte(mutate.f(signed)))
					_, err := v.Verify(context.Background(), r, body)
					var e *Error
					if !errors.As(err, &e) || e.Kind != InvalidSignature || e.Message != msgSignatureMismatch {
						t.Errorf("changed %s: got %v, want InvalidSignature", mutate.name, err)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no test cases in " + suiteDir)
	}
	for name := range refusedVectors {
		if _, err := os.Stat(filepath.Join(suiteDir, filepath.Dir(name))); err != nil {
			t.Errorf("refused vector %s: %v", name, err)
		}
	}
}
