import { useOpenTelemetry } from '@envelop/opentelemetry';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Plugin } from 'graphql-yoga';
import type { AppConfig } from './config/index.js';

/** Tracing of GraphQL operations, exported over OTLP/HTTP. */
export interface Tracing {
  /** The envelop plugin that opens a span per operation. */
  plugin: Plugin;
  /** Sends the spans still buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing through @envelop/opentelemetry when a collector is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT). A span per operation carries its name and type; variables,
 * documents and results stay out of the spans, because they hold shoppers' emails and addresses.
 * The tracer provider is the app's own, not registered globally: several apps (tests) can run in
 * one process, and nothing else in it is traced by accident.
 */
export function startTracing(tracing: NonNullable<AppConfig['tracing']>): Tracing {
  const base = tracing.endpoint.endsWith('/') ? tracing.endpoint : `${tracing.endpoint}/`;
  const exporter = new OTLPTraceExporter({ url: new URL('v1/traces', base).toString() });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': tracing.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
  });
  const plugin = useOpenTelemetry(
    { resolvers: false, defaultResolvers: false, variables: false, result: false, document: false },
    provider,
    SpanKind.SERVER,
    {},
    tracing.serviceName,
  ) as unknown as Plugin;
  return { plugin, shutdown: () => provider.shutdown() };
}
