package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/server"
	"github.com/trentkms/trent/internal/store/bolt"
)

const (
	account   = "111122223333"
	accessKey = "AKIATRENTSERVERTEST1"
	secretKey = "trent-server-test-secret-access-key-01"
	region    = "us-east-1"
)

// testServer is the real handler wired as `trent serve` wires it, with an
// audit log in a temporary file.
type testServer struct {
	h         http.Handler
	auditPath string
	log       *audit.Log
	stop      func()
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	rootKey := make([]byte, 32)
	rand.Read(rootKey)
	sealer, err := seal.New(rootKey, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ids, err := iam.New(ctx, st, sealer, iam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Bootstrap(ctx, iam.Bootstrap{AccountID: account, AccessKeyID: accessKey, SecretAccessKey: secretKey}); err != nil {
		t.Fatal(err)
	}
	k, err := kms.New(ctx, st, sealer, kms.Options{Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.jsonl")
	al, err := audit.Open(path, audit.Options{Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(k, ids, server.Options{Regions: []string{region}, Log: logger, Audit: al})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 3)
	go func() { ids.Run(ctx); done <- struct{}{} }()
	go func() { k.Run(ctx); done <- struct{}{} }()
	go func() { al.Run(ctx); done <- struct{}{} }()
	ts := &testServer{h: srv, auditPath: path, log: al}
	var stopped bool
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		al.Close()
		cancel()
		for range 3 {
			<-done
		}
		st.Close()
	}
	t.Cleanup(ts.stop)
	return ts
}

// call sends a KMS request with a raw JSON body, signed as the SDK signs.
func (ts *testServer) call(t *testing.T, op, body string) (int, map[string]any) {
	t.Helper()
	return ts.send(t, op, body, secretKey, "kms", "")
}

// send sends a KMS request for op, with query, signed with secret for
// service.
func (ts *testServer) send(t *testing.T, op, body, secret, service, query string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://kms."+region+".amazonaws.com/"+query, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "TrentService."+op)
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), service, region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	ts.h.ServeHTTP(rec, r)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// events stops the server and returns the audit log's KMS events.
func (ts *testServer) events(t *testing.T) []map[string]any {
	t.Helper()
	ts.stop()
	f, err := os.Open(ts.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON line: %s", sc.Text())
		}
		if e["eventSource"] == "kms.amazonaws.com" && e["eventType"] == "AwsApiCall" {
			out = append(out, e)
		}
	}
	return out
}

// The audit event's requestParameters are written from the request the
// operation decoded, so they name the key the operation used however the
// body spells its members: a later duplicate, a name in other case or a
// Unicode look-alike (U+212A KELVIN SIGN), which AWS's JSON protocol
// matches exactly and so ignores, an escaped name.
func TestAuditNamesTheKeyTheOperationUsed(t *testing.T) {
	ts := newTestServer(t)
	newKey := func() string {
		code, out := ts.call(t, "CreateKey", `{}`)
		if code != 200 {
			t.Fatalf("CreateKey: %d %v", code, out)
		}
		return out["KeyMetadata"].(map[string]any)["Arn"].(string)
	}
	decoy, used := newKey(), newKey()
	pt := base64.StdEncoding.EncodeToString([]byte("the-plaintext-that-must-not-be-logged"))
	bodies := map[string]string{
		"duplicate":             `{"KeyId":"` + decoy + `","KeyId":"` + used + `","Plaintext":"` + pt + `"}`,
		"other case after":      `{"KeyId":"` + used + `","keyid":"` + decoy + `","Plaintext":"` + pt + `"}`,
		"other case before":     `{"KEYID":"` + decoy + `","KeyId":"` + used + `","Plaintext":"` + pt + `"}`,
		"kelvin sign":           `{"KeyId":"` + used + `","\u212AeyId":"` + decoy + `","Plaintext":"` + pt + `"}`,
		"escaped name":          `{"KeyId":"` + decoy + `","Key\u0049d":"` + used + `","Plaintext":"` + pt + `"}`,
		"kelvin sign, raw":      `{"KeyId":"` + used + `","` + "\u212A" + `eyId":"` + decoy + `","Plaintext":"` + pt + `"}`,
		"context in other case": `{"KeyId":"` + used + `","Plaintext":"` + pt + `","plaintext":"AAAA","EncryptionContext":{"a":"b"},"encryptionContext":{"c":"d"}}`,
	}
	for name, body := range bodies {
		code, out := ts.call(t, "Encrypt", body)
		if code != 200 || out["KeyId"] != used {
			t.Fatalf("%s: Encrypt = %d %v, want it to use %s", name, code, out, used)
		}
	}
	// Only in other case: KeyId is missing, and the event names no key.
	if code, out := ts.call(t, "Encrypt", `{"KEYID":"`+decoy+`","Plaintext":"`+pt+`"}`); code != 400 || out["__type"] != "ValidationException" {
		t.Fatalf("only other case: Encrypt = %d %v, want a ValidationException", code, out)
	}
	evs := ts.events(t)
	n := 0
	for _, e := range evs {
		if e["eventName"] != "Encrypt" {
			continue
		}
		n++
		line, _ := json.Marshal(e)
		if bytes.Contains(line, []byte(pt)) || bytes.Contains(line, []byte("the-plaintext")) {
			t.Fatalf("the event holds the plaintext: %s", line)
		}
		if strings.Contains(string(line), decoy) {
			t.Errorf("event names the decoy key the operation did not use: %s", line)
		}
		params, _ := e["requestParameters"].(map[string]any)
		if e["errorCode"] == "ValidationException" {
			if _, ok := params["keyId"]; ok {
				t.Errorf("a request without KeyId has keyId %v in its event", params["keyId"])
			}
			continue
		}
		res, _ := e["resources"].([]any)
		if params["keyId"] != used || len(res) != 1 || res[0].(map[string]any)["ARN"] != used {
			t.Errorf("event names keyId %v, resources %v; the operation used %s", params["keyId"], res, used)
		}
		if ec, ok := params["encryptionContext"].(map[string]any); ok && (len(ec) != 1 || ec["a"] != "b") {
			t.Errorf("encryptionContext = %v, want what the operation bound: {a:b}", ec)
		}
	}
	if n != len(bodies)+1 {
		t.Fatalf("%d Encrypt events, want %d", n, len(bodies)+1)
	}
}

// A body that does not decode gets null requestParameters: what the raw
// bytes might say was never used.
func TestAuditUndecodableBodyHasNoParameters(t *testing.T) {
	ts := newTestServer(t)
	if code, out := ts.call(t, "Encrypt", `{"KeyId":"alias/x","Plaintext":"not base64!"}`); code != 400 || out["__type"] != "SerializationException" {
		t.Fatalf("Encrypt = %d %v, want a SerializationException", code, out)
	}
	if code, out := ts.call(t, "DescribeKey", `{"KeyId":"alias/missing"}`); code != 400 {
		t.Fatalf("DescribeKey = %d %v, want NotFoundException", code, out)
	}
	evs := ts.events(t)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2: %v", len(evs), evs)
	}
	if evs[0]["requestParameters"] != nil || evs[0]["errorCode"] != "SerializationException" {
		t.Errorf("undecodable Encrypt event: requestParameters %v, errorCode %v", evs[0]["requestParameters"], evs[0]["errorCode"])
	}
	// A request that decoded but failed shows what it named.
	if p, _ := evs[1]["requestParameters"].(map[string]any); p["keyId"] != "alias/missing" {
		t.Errorf("failed DescribeKey event: requestParameters %v", evs[1]["requestParameters"])
	}
}

func TestRequestIDIsAUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := server.NewRequestID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("request id %q: not a fresh version 4 UUID", id)
		}
		seen[id] = true
	}
}

// A request refused by authentication is audited too, with the error its
// client saw and an Unknown identity: a forged signature, a signature for another
// service, and a verified request naming two operations.
func TestAuditRefusedAuthentication(t *testing.T) {
	ts := newTestServer(t)
	want := []string{"InvalidSignatureException", "InvalidSignatureException", "UnknownOperationException"}
	for i, c := range []struct{ secret, service, query string }{
		{"not the secret", "kms", ""},
		{secretKey, "organizations", ""},
		{secretKey, "kms", "?X-Amz-Target=TrentService.DisableKey"},
	} {
		if code, out := ts.send(t, "ListKeys", "{}", c.secret, c.service, c.query); code != 400 || out["__type"] != want[i] {
			t.Fatalf("request %d: %d %v, want %s", i, code, out, want[i])
		}
	}
	evs := ts.events(t)
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %v", len(evs), len(want), evs)
	}
	for i, e := range evs {
		who, _ := e["userIdentity"].(map[string]any)
		if e["errorCode"] != want[i] || e["eventName"] != "ListKeys" || len(who) != 1 || who["type"] != "Unknown" {
			t.Errorf("event %d: errorCode %v, eventName %v, userIdentity %v", i, e["errorCode"], e["eventName"], e["userIdentity"])
		}
	}
}
