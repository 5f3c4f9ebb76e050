package trace

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLP configures the export of spans to an OpenTelemetry collector.
type OTLP struct {
	// Endpoint is the collector's OTLP/gRPC address as a URL:
	// http://host:4317 (plain) or https://host:4317 (TLS, verified against
	// the system roots).
	Endpoint string
	// SampleRatio is the share of requests traced, 0 to 1.
	SampleRatio float64
	// Node and Version describe this process (service.instance.id,
	// service.version); the service name is trent.
	Node, Version string
}

// CheckEndpoint validates an OTLP endpoint URL.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return fmt.Errorf("want http://host:port or https://host:port, the collector's OTLP/gRPC address")
	}
	return nil
}

// Setup returns a Tracer that exports to o's collector in batches, and the
// function that flushes and stops the export at shutdown.
func Setup(ctx context.Context, o OTLP) (*Tracer, func(context.Context) error, error) {
	if err := CheckEndpoint(o.Endpoint); err != nil {
		return nil, nil, err
	}
	if o.SampleRatio < 0 || o.SampleRatio > 1 {
		return nil, nil, errors.New("trace: the sample ratio is between 0 and 1")
	}
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(o.Endpoint))
	if err != nil {
		return nil, nil, fmt.Errorf("trace: OTLP exporter: %w", err)
	}
	tp := NewProvider(sdktrace.WithBatcher(exp), o)
	return New(tp), tp.Shutdown, nil
}

// NewProvider is the SDK's TracerProvider with Trent's resource and sampler
// and the given span processor: the batching OTLP exporter in Setup, an
// in-memory exporter (sdktrace.WithSyncer) in tests.
func NewProvider(processor sdktrace.TracerProviderOption, o OTLP) *sdktrace.TracerProvider {
	attrs := []attribute.KeyValue{attribute.String("service.name", "trent")}
	if o.Node != "" {
		attrs = append(attrs, attribute.String("service.instance.id", o.Node))
	}
	if o.Version != "" {
		attrs = append(attrs, attribute.String("service.version", o.Version))
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
	if err != nil {
		// Only differing schema URLs make Merge fail; schemaless ones never do.
		res = resource.NewSchemaless(attrs...)
	}
	return sdktrace.NewTracerProvider(processor, sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))))
}
