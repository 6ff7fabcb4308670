import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSmartcheckoutSandbox } from '../../src/providers/smartcheckout/sandbox.js';

/** A canned answer to a checkout's status GETs, given instead of the sandbox's. */
export interface ProviderOverride {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/**
 * The built-in Smartcheckout sandbox (real contract, `sandbox_*` scenarios) behind a proxy that
 * records the arrival time of every status GET per provider checkout id, can hold a checkout's
 * GETs (`hold` before the poll, `allow` to let them through) and can answer them itself (`override`).
 */
export async function startGatedSmartcheckout(options: { holdNew?: boolean } = {}) {
  const apiKey = `sc-test-${randomUUID()}`;
  const sandbox = await startSmartcheckoutSandbox({ apiKey });
  const gets = new Map<string, number[]>();
  let posts = 0;
  const gates = new Map<string, { allowed: number; passed: number; waiters: (() => void)[] }>();
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      const item = /^\/v0\/checkout\/([^/?]+)$/.exec(req.url ?? '');
      if (req.method === 'POST') posts++;
      if (req.method === 'GET' && item) {
        const id = decodeURIComponent(item[1]!);
        gets.set(id, [...(gets.get(id) ?? []), Date.now()]);
        const gate = gates.get(id);
        if (gate) {
          while (gate.passed >= gate.allowed) await new Promise<void>((resolve) => gate.waiters.push(resolve));
          gate.passed++;
        }
        const override = proxy.override?.(id);
        if (override) {
          res.writeHead(override.status, { 'content-type': 'application/json', ...override.headers });
          res.end(JSON.stringify(override.body));
          return;
        }
      }
      const answer = await fetch(`${sandbox.url}${req.url}`, {
        method: req.method,
        headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
        body: req.method === 'POST' ? body : undefined,
      });
      const text = await answer.text();
      if (req.method === 'POST' && answer.ok && proxy.holdNew) {
        gates.set((JSON.parse(text) as { checkout_id: string }).checkout_id, { allowed: 0, passed: 0, waiters: [] });
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    apiKey,
    /** Checkouts created while this is on get no GET answered until `allow`. */
    holdNew: options.holdNew ?? false,
    /** Answers a checkout's GETs instead of the sandbox when it returns something. */
    override: undefined as ((id: string) => ProviderOverride | undefined) | undefined,
    /** Arrival times of the status GETs of this provider checkout id. */
    getTimes: (id: string) => gets.get(id) ?? [],
    getCount: (id: string) => gets.get(id)?.length ?? 0,
    /** Create POSTs received, whatever their answer. */
    postCount: () => posts,
    allow(id: string, count = Number.POSITIVE_INFINITY) {
      const gate = gates.get(id);
      if (!gate) return;
      gate.allowed += count;
      for (const wake of gate.waiters.splice(0)) wake();
    },
    allowAll() {
      for (const id of gates.keys()) proxy.allow(id);
    },
    async close() {
      proxy.allowAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sandbox.close();
    },
  };
  return proxy;
}

/** A running gated Smartcheckout (see startGatedSmartcheckout). */
export type GatedSmartcheckout = Awaited<ReturnType<typeof startGatedSmartcheckout>>;

/** The environment that sends an app's Smartcheckout calls through `gate` (the other providers keep their own sandboxes). */
export function smartcheckoutThrough(gate: { url: string; apiKey: string }): Record<string, string> {
  return { SMARTCHECKOUT_BASE_URL: gate.url, SMARTCHECKOUT_API_KEY: gate.apiKey };
}
