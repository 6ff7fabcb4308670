import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { BoundedLabel, MAX_LABELLED_VALUES, OTHER_LABEL } from '../src/app/operation-metrics.js';
import { CSRF_HEADER } from '../src/http/security.js';
import { useTestApp } from './support/app.js';

/** The distinct values of `label` among the samples of `name` in Prometheus text. */
function labelValues(text: string, name: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const value = new RegExp(`[{,]${label}="([^"]*)"`).exec(line)?.[1];
    if (value !== undefined) values.add(value);
  }
  return values;
}

/** Sample lines of `name` on /metrics. */
function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`));
}

describe('BoundedLabel', () => {
  it('keeps the first values as they are and labels every later one as the same other value', () => {
    const label = new BoundedLabel(3);
    expect(['a', 'b', 'a', 'c'].map((value) => label.of(value))).toEqual(['a', 'b', 'a', 'c']);
    expect(label.of('d')).toBe(OTHER_LABEL);
    expect(label.of('b')).toBe('b');
    expect(label.size).toBe(3);
  });

  it('labels a value too long to be a useful label as the other value, without keeping it', () => {
    const label = new BoundedLabel(3);
    expect(label.of('x'.repeat(10_000))).toBe(OTHER_LABEL);
    expect(label.size).toBe(0);
  });
});

describe('operation metrics on /metrics', () => {
  const t = useTestApp();
  const scrape = async () => (await fetch(`${t.url}/metrics`)).text();

  it('adds no series per GET URL or Host header: graphql_yoga_http_duration has no url label', async () => {
    const get = (search: URLSearchParams, host?: string) =>
      new Promise<number>((resolve, reject) => {
        const target = new URL(`${t.url}/graphql?${search}`);
        const req = request(
          target,
          {
            headers: {
              authorization: `Bearer ${t.keys.a}`,
              accept: 'application/json',
              [CSRF_HEADER]: '1',
              ...(host ? { host } : {}),
            },
          },
          (res) => {
            res.resume();
            res.once('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.once('error', reject);
        req.end();
      });
    const query = 'query GetById($id: ID!) { checkout(id: $id) { id } }';
    for (let i = 0; i < 20; i++)
      expect(
        await get(new URLSearchParams({ query, variables: JSON.stringify({ id: `id-${i}` }) }), `host-${i}.example`),
      ).toBe(200);
    const text = await scrape();
    const series = seriesOf(text, 'graphql_yoga_http_duration_count').filter((line) =>
      line.includes('operationName="GetById"'),
    );
    expect(series).toHaveLength(1);
    expect(series[0]).not.toContain('url=');
    expect(Number(series[0]!.slice(series[0]!.lastIndexOf(' ') + 1))).toBe(20);
  });

  it(`labels at most ${MAX_LABELLED_VALUES} distinct operation names, and every later one as ${OTHER_LABEL}`, async () => {
    const post = async (query: string, operationName?: string) => {
      const response = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.a}` },
        body: JSON.stringify({ query, operationName }),
      });
      await response.arrayBuffer();
    };
    // Each name twice: a name already labelled keeps its label.
    for (let i = 0; i < MAX_LABELLED_VALUES + 30; i++) {
      await post(`query Name${i} { __typename }`);
      await post(`query Name${i} { __typename }`);
    }
    // An operation name that is in no document is labelled before the execution refuses it.
    for (let i = 0; i < 30; i++) await post('query Known { __typename }', `Unknown${i}`);
    const text = await scrape();
    for (const name of [
      'graphql_envelop_request_duration_count',
      'graphql_yoga_http_duration_count',
      'graphql_envelop_error_result',
    ]) {
      const names = labelValues(text, name, 'operationName');
      expect(names.size, name).toBeLessThanOrEqual(MAX_LABELLED_VALUES + 1);
    }
    const names = labelValues(text, 'graphql_envelop_request_duration_count', 'operationName');
    expect(names).toContain(OTHER_LABEL);
    expect(names).toContain('Name0');
    expect(names).not.toContain(`Name${MAX_LABELLED_VALUES + 29}`);
  });
});
