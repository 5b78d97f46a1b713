// Package telemetry sets up Registrar's distributed tracing with OpenTelemetry (docs/operations.md).
//
// The host adapter (shared/invoke) starts each invocation's span from the host's traceparent; the
// Table Storage client (azcore's tracing, through azotel), the Service Bus sends (shared/bus) and
// every committed event (its stored traceparent) carry that trace on. Spans are exported over OTLP
// (http/protobuf) only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Otherwise the tracer provider is a
// no-op and the Azure clients get no tracing provider, so tracing costs nothing; the trace context
// itself still flows (a traceparent is forwarded as it came, or a new trace starts).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/tracing"
	"github.com/Azure/azure-sdk-for-go/sdk/tracing/azotel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Settings read by New (the standard OpenTelemetry names; the OTLP exporter reads the other
// OTEL_EXPORTER_OTLP_* settings, such as _HEADERS, itself).
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"        // set: export spans there (+ /v1/traces); unset: nothing
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" // the full traces URL, when not the endpoint's
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"        // only http/protobuf (the default) is supported
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"                  // "true" turns export off even with an endpoint
	EnvServiceName    = "OTEL_SERVICE_NAME"                  // default ServiceName
)

// ServiceName is the default service.name resource attribute (Application Insights' cloud_RoleName).
const ServiceName = "registrar"

// HeaderTraceparent is the W3C trace context header and the events' application property.
const HeaderTraceparent = "traceparent"

// Tracing is the process's tracing set-up. The zero value and nil are "off".
type Tracing struct {
	provider trace.TracerProvider
	azure    tracing.Provider
	shutdown func(context.Context) error
}

// New reads the settings through getenv and returns the tracing set-up: exporting over OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, off otherwise. It opens no connection.
func New(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	if getenv(EnvEndpoint) == "" || strings.EqualFold(getenv(EnvSDKDisabled), "true") {
		return &Tracing{}, nil
	}
	if p := getenv(EnvProtocol); p != "" && p != "http/protobuf" {
		return nil, fmt.Errorf("%s=%s is not supported: use http/protobuf (or leave it unset)", EnvProtocol, p)
	}
	url := getenv(EnvTracesEndpoint)
	if url == "" {
		url = strings.TrimSuffix(getenv(EnvEndpoint), "/") + "/v1/traces" // the OTLP/HTTP convention
	}
	// Headers, timeout, compression and TLS: the exporter reads OTEL_EXPORTER_OTLP_* itself.
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvEndpoint, err)
	}
	name := getenv(EnvServiceName)
	if name == "" {
		name = ServiceName
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(name)))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return Export(sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))), nil
}

// Export returns a set-up that records spans with tp (its sampler decides, by default following
// the caller's sampled flag) and hands them to tp's processors; Shutdown shuts tp down.
func Export(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{provider: tp, azure: azotel.NewTracingProvider(tp, nil), shutdown: tp.Shutdown}
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.shutdown != nil }

// Provider is the tracer provider: a no-op one when tracing is off.
func (t *Tracing) Provider() trace.TracerProvider {
	if !t.Enabled() {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Azure is azcore's ClientOptions.TracingProvider: the zero value (no spans, no cost) when off.
func (t *Tracing) Azure() tracing.Provider {
	if !t.Enabled() {
		return tracing.Provider{}
	}
	return t.azure
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.shutdown(ctx)
}

// Traceparent returns the W3C traceparent of the span ctx carries ("" when it carries none): what
// an event committed under ctx is published with.
func Traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c[HeaderTraceparent]
}

// SpanContext parses a traceparent value; the result is invalid when it is not one.
func SpanContext(traceparent string) trace.SpanContext {
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{HeaderTraceparent: traceparent})
	return trace.SpanContextFromContext(ctx)
}
