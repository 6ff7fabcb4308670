/**
 * The ceiling: bare node:http answering POST /graphql with response bytes computed beforehand
 * (the exact status, headers and body this API answered for the same request), looked up by the
 * request's shape and body. BENCH_BARE_RESPONSES names a JSON file of {@link BareAnswer}s keyed by
 * {@link bareKey} (the request's method, URL, `Accept`, `Origin` and body).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One recorded answer: status, headers (without date, connection and length) and body. */
export interface BareAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a recorded answer is found by: method and URL (a GET's query string), the headers that change ours' answer, and the body. */
export function bareKey(
  request: { method: string; url: string },
  accept: string | undefined,
  origin: string | undefined,
  body: string,
): string {
  return JSON.stringify([request.method, request.url, accept ?? '', origin ?? '', body]);
}

if (process.env.BENCH_BARE_RESPONSES) {
  const table = JSON.parse(readFileSync(process.env.BENCH_BARE_RESPONSES, 'utf8')) as Record<string, BareAnswer>;
  const responses = new Map(
    Object.entries(table).map(([key, answer]) => {
      const body = Buffer.from(answer.body);
      return [key, { ...answer, body, headers: { ...answer.headers, 'content-length': String(body.length) } }];
    }),
  );
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const key = bareKey(
        { method: req.method!, url: req.url! },
        req.headers.accept,
        req.headers.origin,
        Buffer.concat(chunks).toString('utf8'),
      );
      const answer = responses.get(key);
      if (!answer) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
