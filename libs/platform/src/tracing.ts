import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { NextFunction, Request, Response } from 'express';

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry. Spans (and so W3C trace ids in `traceparent`) always exist. They are exported over
 * OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set: only then is the NodeSDK loaded, because with its
 * exporters it adds ~50 MB to every service; without an endpoint a bare tracer provider keeps trace
 * context and propagation (~15 MB).
 */
export function startTracing(serviceName: string): Tracing {
  if (process.env['OTEL_EXPORTER_OTLP_ENDPOINT']) {
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when traces are exported */
    const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const sdk = new NodeSDK({ serviceName: `agf-${serviceName}`, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())], instrumentations: [] });
    sdk.start();
    return sdk;
  }
  // Nothing would read recorded spans: they stay unrecorded (cheaper per message), ids and propagation remain.
  const provider = new NodeTracerProvider({ sampler: new AlwaysOffSampler() });
  provider.register();
  return provider;
}

/**
 * Starts a server span per HTTP request (continuing the caller's `traceparent` if it sent one), so the
 * events a request emits carry its trace across every service.
 */
export function httpTracingMiddleware(serviceName: string) {
  const tracer = trace.getTracer(`agf-${serviceName}`);
  return (req: Request, res: Response, next: NextFunction): void => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    tracer.startActiveSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER }, parent, (span) => {
      res.once('finish', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      next();
    });
  };
}
