/**
 * create-flow's fake provider: Smartcheckout's documented contract (shared/seeds/000_*,
 * src/providers/smartcheckout/contract.ts) answered from memory the way the built-in sandbox
 * (src/providers/smartcheckout/sandbox.ts) answers with its default scenario — `POST /v0/checkout`
 * answers `processing`, `GET /v0/checkout/{id}` answers `processing` until the
 * BENCH_PROVIDER_COMPLETE_ON-th GET (default 2, the sandbox's), then `completed` for 49.99 USD —
 * plus a log of every call with its time, which the sandbox does not keep. Checks the Bearer key
 * (BENCH_PROVIDER_KEY). No delay: it answers as fast as it can, as the sandbox does.
 *
 * Control (loopback, not part of the contract): `GET /__log` answers
 * `{"checkouts": [{"id", "postAt", "getAts": [...], "completedAt"}]}` (times in ms since the epoch,
 * `performance.timeOrigin + performance.now()`, comparable across processes of this machine);
 * `POST /__reset` forgets every checkout. Prints `READY {"url", "pid"}`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const apiKey = process.env.BENCH_PROVIDER_KEY ?? 'bench-provider-key';
const completeOn = Number(process.env.BENCH_PROVIDER_COMPLETE_ON ?? 2);
/** A long closed-loop run must not grow without bound; the oldest go first (the sandbox keeps 10,000). */
const MAX_CHECKOUTS = 200_000;

interface Logged {
  id: string;
  /** When the create was answered. */
  postAt: number;
  /** When each status GET arrived. */
  getAts: number[];
  /** When the GET answering `completed` was answered. */
  completedAt: number | null;
}

const checkouts = new Map<string, Logged>();
const now = () => performance.timeOrigin + performance.now();

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  if (path === '/__log' && req.method === 'GET') return send(res, 200, { checkouts: [...checkouts.values()] });
  if (path === '/__reset' && req.method === 'POST') {
    checkouts.clear();
    return send(res, 200, { ok: true });
  }
  if (req.headers.authorization !== `Bearer ${apiKey}`) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, 401, { message: 'Invalid or missing API key' });
  }
  if (path === '/v0/checkout' && req.method === 'POST') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: { url?: unknown; user_data?: { email?: unknown } } | undefined;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return send(res, 400, { message: 'request body is not valid JSON' });
      }
      if (typeof body?.url !== 'string' || typeof body.user_data?.email !== 'string')
        return send(res, 400, { message: 'Invalid request body: url and user_data.email are required' });
      const id = randomUUID();
      if (checkouts.size >= MAX_CHECKOUTS) checkouts.delete(checkouts.keys().next().value!);
      send(res, 200, { checkout_id: id, status: 'processing' });
      checkouts.set(id, { id, postAt: now(), getAts: [], completedAt: null });
    });
    return;
  }
  const match = /^\/v0\/checkout\/([^/?]+)$/.exec(path);
  if (!match || req.method !== 'GET') return send(res, 404, { message: 'Not Found' });
  const arrivedAt = now();
  const id = decodeURIComponent(match[1]!);
  const checkout = checkouts.get(id);
  if (!checkout) return send(res, 404, { message: 'Checkout not found' });
  checkout.getAts.push(arrivedAt);
  if (checkout.getAts.length < completeOn) {
    return send(res, 200, { id, status: 'processing', amount_str: null, currency: null, notes: '' });
  }
  send(res, 200, { id, status: 'completed', amount_str: '49.99', currency: 'USD', notes: '' });
  checkout.completedAt ??= now();
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
