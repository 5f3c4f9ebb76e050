package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/trace"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tracedEnv is newEnv with tracing on: spans go to an in-memory exporter,
// the store is wrapped as trent serve wraps it, the log is JSON through
// trace.LogHandler and the audit log is a real file.
func tracedEnv(t *testing.T) (*env, *tracetest.InMemoryExporter, *syncBuffer, string) {
	t.Helper()
	dir := t.TempDir()
	raw, err := bolt.Open(filepath.Join(dir, "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := trace.Store(raw)
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := seal.New(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(trace.LogHandler(slog.NewJSONHandler(logs, nil)))
	exp := tracetest.NewInMemoryExporter()
	tp := trace.NewProvider(sdktrace.WithSyncer(exp), trace.OTLP{SampleRatio: 1, Node: "test-node"})
	ctx, cancel := context.WithCancel(context.Background())
	ids, err := iam.New(ctx, st, sealer, iam.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	regions := []string{"us-east-1"}
	k, err := kms.New(ctx, st, sealer, kms.Options{Log: log, Principals: ids, Regions: regions, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	al, err := audit.Open(auditPath, audit.Options{Log: log, Node: "test-node", Gather: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { ids.Run(ctx); done <- struct{}{} }()
	go func() { k.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		al.Close()
		tp.Shutdown(context.Background())
		raw.Close()
	})
	if _, err := ids.Bootstrap(ctx, iam.Bootstrap{AccountID: testAccount, AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(k, ids, Options{Regions: regions, Log: log, Now: func() time.Time { return testNow }, Audit: al, Tracer: trace.New(tp)})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, ids: ids, kms: k, st: st}, exp, logs, auditPath
}

// spansOf returns the spans of the trace whose root is named root, by name.
func spansOf(t *testing.T, exp *tracetest.InMemoryExporter, root string) (tracetest.SpanStub, map[string]tracetest.SpanStub) {
	t.Helper()
	all := exp.GetSpans()
	var r tracetest.SpanStub
	found := false
	for _, s := range all {
		if s.Name == root && !s.Parent.IsValid() {
			r, found = s, true
		}
	}
	if !found {
		t.Fatalf("no root span %s among %d spans", root, len(all))
	}
	children := map[string]tracetest.SpanStub{}
	for _, s := range all {
		if s.SpanContext.TraceID() == r.SpanContext.TraceID() && s.Parent.SpanID() == r.SpanContext.SpanID() {
			children[s.Name] = s
		}
	}
	return r, children
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// Each request is a trace: its span, named for the operation, has children
// for authentication, authorization and store writes; the audit event and
// the log lines of the request carry its trace id; and no span holds a
// secret.
func TestTracing(t *testing.T) {
	e, exp, logs, auditPath := tracedEnv(t)
	const plaintext = "trace-me-not: the plaintext"

	keyARN := e.createKey(t, "")
	root, kids := spansOf(t, exp, "kms.CreateKey")
	if root.SpanKind != oteltrace.SpanKindServer || attr(root, "rpc.method") != "CreateKey" || attr(root, "aws.principal.arn") != "arn:aws:iam::"+testAccount+":root" {
		t.Errorf("CreateKey span: kind %v, attributes %v", root.SpanKind, root.Attributes)
	}
	if v, ok := kids["sigv4.Verify"]; !ok || attr(v, "aws.signing.service") != "kms" {
		t.Errorf("CreateKey: authentication span %+v (present %v)", v.Attributes, ok)
	}
	if a, ok := kids["kms.Authorize"]; !ok || attr(a, "aws.kms.action") != "kms:CreateKey" || attr(a, "trent.authz.allowed") != "true" {
		t.Errorf("CreateKey: authorization span %+v (present %v)", a.Attributes, ok)
	}
	if w, ok := kids["store.Txn"]; !ok || attr(w, "trent.store.puts") == "" || attr(w, "trent.store.puts") == "0" {
		t.Errorf("CreateKey: store write span %+v (present %v)", w.Attributes, ok)
	}

	exp.Reset()
	var enc struct{ CiphertextBlob []byte }
	body, _ := json.Marshal(map[string]any{"KeyId": keyARN, "Plaintext": []byte(plaintext)})
	if code := e.call(t, rootCreds(), "Encrypt", string(body), &enc); code != 200 {
		t.Fatalf("Encrypt: %d", code)
	}
	encRoot, kids := spansOf(t, exp, "kms.Encrypt")
	az, ok := kids["kms.Authorize"]
	if !ok || attr(az, "trent.authz.allowed") != "true" || attr(az, "aws.kms.key_arn") != keyARN || attr(az, "aws.kms.action") != "kms:Encrypt" {
		t.Errorf("Encrypt: authorization span %+v (present %v)", az.Attributes, ok)
	}
	if _, ok := kids["sigv4.Verify"]; !ok {
		t.Error("Encrypt: no authentication span")
	}
	spans := exp.GetSpans()

	// A denial: its span says so, the request's span has the error code,
	// and the log line of the denial has the trace id.
	exp.Reset()
	denyEncrypt := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*"}]}`
	denied := e.createKey(t, denyEncrypt)
	exp.Reset()
	body, _ = json.Marshal(map[string]any{"KeyId": denied, "Plaintext": []byte(plaintext)})
	var jerr jsonError
	if code := e.call(t, rootCreds(), "Encrypt", string(body), &jerr); code != 400 || jerr.Type != "AccessDeniedException" {
		t.Fatalf("Encrypt on a key denying it: %d %+v", code, jerr)
	}
	denyRoot, kids := spansOf(t, exp, "kms.Encrypt")
	if attr(kids["kms.Authorize"], "trent.authz.allowed") != "false" || denyRoot.Status.Description != "AccessDeniedException" || attr(denyRoot, "aws.error.code") != "AccessDeniedException" {
		t.Errorf("denied Encrypt: root %v %v, authorize %v", denyRoot.Status, denyRoot.Attributes, kids["kms.Authorize"].Attributes)
	}
	denyTrace := denyRoot.SpanContext.TraceID().String()
	var deniedLine map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "kms: access denied" {
			deniedLine = m
		}
	}
	if deniedLine == nil || deniedLine["trace_id"] != denyTrace || deniedLine["span_id"] == "" {
		t.Errorf("the denial's log line %v does not carry the trace id %s", deniedLine, denyTrace)
	}
	spans = append(spans, exp.GetSpans()...)

	// The audit events carry the trace ids.
	e.srv.audit.Close()
	data, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	traces := map[string]string{} // eventName/errorCode → trentTraceId
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var ev audit.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.EventName == "Encrypt" {
			traces[ev.ErrorCode] = ev.TrentTraceID
		}
	}
	if traces[""] != encRoot.SpanContext.TraceID().String() || traces["AccessDeniedException"] != denyTrace {
		t.Errorf("audit trace ids %v, want %s and %s", traces, encRoot.SpanContext.TraceID(), denyTrace)
	}

	// Nothing secret in any span: names, attributes, status, events.
	secrets := []string{plaintext, base64.StdEncoding.EncodeToString([]byte(plaintext)), rootSecret, base64.StdEncoding.EncodeToString(enc.CiphertextBlob)}
	for _, s := range spans {
		b, err := json.Marshal(struct {
			Name   string
			Attrs  any
			Status any
			Events any
			Res    any
		}{s.Name, s.Attributes, s.Status, s.Events, s.Resource.Attributes()})
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("span %s holds a secret: %s", s.Name, b)
			}
		}
	}
}
