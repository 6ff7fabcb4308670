/**
 * The ceiling: bare node:http answering POST /graphql with response bytes computed beforehand
 * (the exact bytes this API answered for the same request), looked up by the request body.
 * BENCH_BARE_RESPONSES names a JSON file `{ "<request body>": "<response body>" }`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const table = JSON.parse(readFileSync(process.env.BENCH_BARE_RESPONSES!, 'utf8')) as Record<string, string>;
const responses = new Map(Object.entries(table).map(([request, response]) => [request, Buffer.from(response)]));

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = responses.get(Buffer.concat(chunks).toString('utf8'));
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
