import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { CheckoutsDocument, CreateSmartCheckoutDocument } from './generated/graphql.js';
import { expectType, startTestApp } from './support/app.js';
import { pause } from './support/async.js';

/** One OTLP/HTTP JSON export as a collector receives it (the fields these tests read). */
interface TraceExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: {
      spans: { name: string; traceId: string; attributes: { key: string; value: { stringValue?: string } }[] }[];
    }[];
  }[];
}

/** A real OTLP/HTTP collector on loopback that keeps every export it receives. */
async function startCollector() {
  const exports: { path: string; contentType: string | undefined; body: TraceExport }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      exports.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as TraceExport,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    spans: () =>
      exports.flatMap((item) =>
        item.body.resourceSpans.flatMap((resource) =>
          resource.scopeSpans.flatMap((scope) => scope.spans.map((span) => ({ ...span, resource: resource.resource }))),
        ),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (attributes: { key: string; value: { stringValue?: string } }[], key: string) =>
  attributes.find((item) => item.key === key)?.value.stringValue;

describe('OpenTelemetry tracing (optional)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    collector = await startCollector();
  });
  afterAll(() => collector?.close());

  it('exports a span per GraphQL operation to the configured collector, named and typed, without variables', async () => {
    const t = await startTestApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: 'checkout-graph-traced',
    });
    const email = 'traced.shopper@example.com';
    try {
      const created = await t.request(CreateSmartCheckoutDocument, {
        input: { productUrl: 'https://shop.example/t?sandbox_amount=5.00', email },
      });
      expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess');
      expect((await t.request(CheckoutsDocument, { first: 5 })).errors).toBeUndefined();
    } finally {
      // Stopping flushes the spans still buffered.
      await t.stop();
    }
    expect(collector.exports.length).toBeGreaterThan(0);
    expect(
      collector.exports.every((item) => item.path === '/v1/traces' && item.contentType?.includes('application/json')),
    ).toBe(true);
    const spans = collector.spans();
    const operations = spans.map((span) => attribute(span.attributes, 'graphql.execute.operationName'));
    expect(operations).toEqual(expect.arrayContaining(['CreateSmartCheckout', 'Checkouts']));
    const create = spans.find(
      (span) => attribute(span.attributes, 'graphql.execute.operationName') === 'CreateSmartCheckout',
    )!;
    expect(attribute(create.attributes, 'graphql.execute.operationType')).toBe('mutation');
    expect(create.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(attribute(create.resource.attributes, 'service.name')).toBe('checkout-graph-traced');
    // The shopper's email travelled in the variables: it must not be in any span, nor the API key.
    const exported = JSON.stringify(collector.exports);
    expect(exported).not.toContain(email);
    expect(exported).not.toContain(t.keys.a!);
  });

  it('exports nothing when no collector is configured', async () => {
    const before = collector.exports.length;
    const t = await startTestApp();
    try {
      expect((await t.request(CheckoutsDocument, { first: 1 })).errors).toBeUndefined();
    } finally {
      // Stopped before the check: a stop flushes whatever an exporter still buffers.
      await t.stop();
    }
    await pause(300);
    expect(collector.exports.length).toBe(before);
  });

  it('refuses a collector endpoint that is not an http(s) URL, naming the variable', () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
