import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * Starts OpenTelemetry. Spans (and so W3C trace ids in `traceparent`) always exist; they are exported over
 * OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set, and nothing is printed otherwise.
 */
export function startTracing(serviceName: string): NodeSDK {
  const endpoint = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  const sdk = new NodeSDK({
    serviceName: `agf-${serviceName}`,
    spanProcessors: endpoint ? [new BatchSpanProcessor(new OTLPTraceExporter())] : [new NoopSpanProcessor()],
    instrumentations: [],
  });
  sdk.start();
  return sdk;
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
