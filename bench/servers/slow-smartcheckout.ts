/**
 * W4's provider: Smartcheckout's documented `GET /v0/checkout/{id}` (src/providers/smartcheckout/
 * contract.ts) answering `{"id", "status": "processing"}` after BENCH_PROVIDER_DELAY_MS (50 ms),
 * so every checkout stays PROCESSING and keeps being polled. Checks the Bearer key like the real
 * one. With BENCH_PROVIDER_COMPLETE_AFTER_MS, a checkout answers `completed` (amount 10.00 EUR) once that
 * long has passed since its first GET (W4's sustained scenario). Counts GETs, in total and per provider checkout id; `GET /__stats?ids=a,b` returns
 * `{"gets": n, "getsOf": m}` (m: GETs of the listed ids), `POST /__reset` zeroes the counts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.env.BENCH_PROVIDER_DELAY_MS ?? 50);
const apiKey = process.env.BENCH_PROVIDER_KEY ?? 'bench-provider-key';
const completeAfterMs = Number(process.env.BENCH_PROVIDER_COMPLETE_AFTER_MS ?? 0);
const firstSeen = new Map<string, number>();
let gets = 0;
const byId = new Map<string, number>();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/__stats') {
    const ids = url.searchParams.get('ids')?.split(',').filter(Boolean) ?? [];
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ gets, getsOf: ids.reduce((sum, id) => sum + (byId.get(id) ?? 0), 0) }));
    return;
  }
  if (url.pathname === '/__reset' && req.method === 'POST') {
    gets = 0;
    byId.clear();
    res.writeHead(204).end();
    return;
  }
  const match = /^\/v0\/checkout\/([^/]+)$/.exec(url.pathname);
  if (!match || req.method !== 'GET') {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not found' }));
    return;
  }
  if (req.headers.authorization !== `Bearer ${apiKey}`) {
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Unauthorized' }));
    return;
  }
  const id = decodeURIComponent(match[1]!);
  gets++;
  byId.set(id, (byId.get(id) ?? 0) + 1);
  if (!firstSeen.has(id)) firstSeen.set(id, Date.now());
  const completed = completeAfterMs > 0 && Date.now() - firstSeen.get(id)! >= completeAfterMs;
  const answer = completed
    ? { id, status: 'completed', amount_str: '10.00', currency: 'EUR', notes: null }
    : { id, status: 'processing', amount_str: null, currency: null, notes: null };
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }, delayMs);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
