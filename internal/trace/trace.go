// Package trace gives Trent's request path OpenTelemetry spans: one span per
// request, with children for authentication, authorization, store writes and
// calls to HSMs and external key store proxies. Tracing is off unless
// trent serve is given an OTLP endpoint, and off it costs nothing: a nil
// *Tracer starts no span, and the zero Span does nothing.
//
// Children are started from the span a context carries (Start) or from a
// parent Span (Span.Child), so the packages that make them need no tracer of
// their own: with tracing off they find no span and start none.
//
// # Secrets
//
// A span's name and attributes must never hold a secret: no plaintext,
// ciphertext, key material, password, secret access key or session token,
// and no error message (a message may quote a request's values). Spans carry
// names of operations, ARNs, ids, counts, decisions and AWS error codes only:
// what the audit event may show, and less.
//
// # Concurrency
//
// Tracers and Spans are safe for concurrent use.
package trace

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// scope names the instrumentation in every span.
const scope = "github.com/trentkms/trent"

// Tracer starts the span of each request. A nil *Tracer traces nothing.
type Tracer struct{ t oteltrace.Tracer }

// New returns a Tracer whose spans go to tp.
func New(tp oteltrace.TracerProvider) *Tracer { return &Tracer{t: tp.Tracer(scope)} }

// Span is a span being recorded, or nothing: the zero Span's methods do
// nothing.
type Span struct{ s oteltrace.Span }

// Request starts the root span of a request, a server span. With a nil
// Tracer it returns ctx and the zero Span.
func (t *Tracer) Request(ctx context.Context, name string) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	ctx, s := t.t.Start(ctx, name, oteltrace.WithSpanKind(oteltrace.SpanKindServer))
	return ctx, Span{s}
}

// Start starts a child of the span ctx carries, if it carries one being
// recorded; else it returns ctx and the zero Span.
func Start(ctx context.Context, name string) (context.Context, Span) {
	parent := oteltrace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, Span{}
	}
	ctx, s := parent.TracerProvider().Tracer(scope).Start(ctx, name)
	return ctx, Span{s}
}

// FromContext is the span ctx carries, if it is being recorded.
func FromContext(ctx context.Context) Span {
	if s := oteltrace.SpanFromContext(ctx); s.IsRecording() {
		return Span{s}
	}
	return Span{}
}

// Child starts a child of s, for code that has s but no context (a Caller
// carries its request's span).
func (s Span) Child(name string) Span {
	if !s.Recording() {
		return Span{}
	}
	_, c := s.s.TracerProvider().Tracer(scope).Start(oteltrace.ContextWithSpan(context.Background(), s.s), name)
	return Span{c}
}

// Context is a context carrying s, for slog's …Context methods (LogHandler
// then adds the trace id); context.Background() when s does not record.
func (s Span) Context() context.Context {
	if !s.Recording() {
		return context.Background()
	}
	return oteltrace.ContextWithSpan(context.Background(), s.s)
}

// Recording reports whether s records: callers compute attributes only then.
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// SetName renames s, once what the request is is known.
func (s Span) SetName(name string) {
	if s.s != nil {
		s.s.SetName(name)
	}
}

// String sets a string attribute. The value must not be a secret.
func (s Span) String(key, value string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, value))
	}
}

// Int sets an integer attribute.
func (s Span) Int(key string, value int) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int(key, value))
	}
}

// Bool sets a boolean attribute.
func (s Span) Bool(key string, value bool) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Bool(key, value))
	}
}

// Fail marks s failed with code, an AWS error code or a short fixed text:
// never an error's message, which may quote the request.
func (s Span) Fail(code string) {
	if s.s != nil {
		s.s.SetStatus(codes.Error, code)
		s.s.SetAttributes(attribute.String("aws.error.code", code))
	}
}

// End ends s.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// TraceID is the trace id of s (32 hex digits), or "".
func (s Span) TraceID() string {
	if s.s == nil {
		return ""
	}
	if sc := s.s.SpanContext(); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}
