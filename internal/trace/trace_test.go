package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// With tracing off (a nil Tracer), nothing records and nothing panics.
func TestOff(t *testing.T) {
	var tr *Tracer
	ctx, sp := tr.Request(context.Background(), "kms.Encrypt")
	if sp.Recording() || sp.TraceID() != "" || FromContext(ctx).Recording() {
		t.Fatal("a nil Tracer records")
	}
	_, child := Start(ctx, "store.Txn")
	c2 := sp.Child("kms.Authorize")
	for _, s := range []Span{sp, child, c2} {
		s.String("k", "v")
		s.Int("n", 1)
		s.Bool("b", true)
		s.Fail("Code")
		s.SetName("x")
		s.End()
	}
	if child.Recording() || c2.Recording() || sp.Context() != context.Background() {
		t.Fatal("a child of nothing records")
	}
}

func TestOffAllocatesNothing(t *testing.T) {
	var tr *Tracer
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		c, sp := tr.Request(ctx, "kms.Encrypt")
		a := sp.Child("kms.Authorize")
		a.End()
		_, s := Start(c, "store.Txn")
		s.End()
		sp.End()
	}); n != 0 {
		t.Errorf("%v allocations per request with tracing off", n)
	}
}

// A log line written with a traced context carries the trace and span ids;
// one without does not.
func TestLogHandler(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := NewProvider(sdktrace.WithSyncer(exp), OTLP{SampleRatio: 1})
	defer tp.Shutdown(context.Background())
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, sp := New(tp).Request(context.Background(), "kms.Decrypt")
	log.InfoContext(ctx, "traced")
	log.InfoContext(sp.Context(), "from the span")
	log.Info("untraced")
	sp.End()
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, want := range []string{sp.TraceID(), sp.TraceID(), ""} {
		var m map[string]any
		if err := json.Unmarshal(lines[i], &m); err != nil {
			t.Fatal(err)
		}
		got, _ := m["trace_id"].(string)
		if got != want || m["component"] != "test" {
			t.Errorf("line %d: trace_id %q, want %q: %s", i, got, want, lines[i])
		}
	}
	if len(sp.TraceID()) != 32 {
		t.Errorf("TraceID %q", sp.TraceID())
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"http://127.0.0.1:4317", true},
		{"https://collector.example:4317", true},
		{"https://collector.example:4317/", true},
		{"127.0.0.1:4317", false},
		{"grpc://collector:4317", false},
		{"http://", false},
		{"https://user:pass@collector:4317", false},
		{"https://collector:4317/v1/traces", false},
	} {
		if err := CheckEndpoint(tt.in); (err == nil) != tt.ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
