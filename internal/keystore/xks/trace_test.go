package xks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/trentkms/trent/internal/trace"
)

// A call to the proxy from a traced request is a span under the request's,
// named for the XKS operation, with its path and, on failure, the proxy's
// error name; never the plaintext, the ciphertext or the credential.
func TestCallsAreSpans(t *testing.T) {
	e := newEnv(t, false, nil)
	exp := tracetest.NewInMemoryExporter()
	tp := trace.NewProvider(sdktrace.WithSyncer(exp), trace.OTLP{SampleRatio: 1})
	defer tp.Shutdown(context.Background())
	ctx, root := trace.New(tp).Request(context.Background(), "kms.Encrypt")
	plaintext := []byte("xks plaintext that no span may hold")
	ct, err := e.client.Encrypt(ctx, "enabled", md("Encrypt"), plaintext, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Encrypt(ctx, "disabled", md("Encrypt"), plaintext, nil); err == nil {
		t.Fatal("Encrypt with a disabled key succeeded")
	}
	root.End()
	// Without a traced request, no span.
	if _, err := e.client.Decrypt(context.Background(), "enabled", md("Decrypt"), ct, nil); err != nil {
		t.Fatal(err)
	}

	var calls []tracetest.SpanStub
	var rootStub tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "kms.Encrypt" {
			rootStub = s
		} else {
			calls = append(calls, s)
		}
	}
	if len(calls) != 2 {
		t.Fatalf("%d proxy spans, want 2 (the untraced Decrypt makes none)", len(calls))
	}
	for _, s := range calls {
		if s.Name != "xks.encrypt" || s.Parent.SpanID() != rootStub.SpanContext.SpanID() || s.SpanContext.TraceID() != rootStub.SpanContext.TraceID() {
			t.Errorf("span %s (parent %v) is not a child of the request's span %v", s.Name, s.Parent.SpanID(), rootStub.SpanContext.SpanID())
		}
		b, _ := json.Marshal(struct{ A, S any }{s.Attributes, s.Status})
		for _, secret := range [][]byte{plaintext, []byte(base64.StdEncoding.EncodeToString(plaintext)), []byte(base64.StdEncoding.EncodeToString(ct.Ciphertext)), []byte(cred.Secret)} {
			if bytes.Contains(b, secret) {
				t.Errorf("span %s holds a secret: %s", s.Name, b)
			}
		}
	}
	if calls[0].Status.Code != codes.Unset || calls[1].Status.Code != codes.Error || calls[1].Status.Description != "InvalidStateException" {
		t.Errorf("span statuses %v and %v, want unset and the proxy's error name", calls[0].Status, calls[1].Status)
	}
}
