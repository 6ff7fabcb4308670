/**
 * create-flow's create requests and the generators that send them: the `createSmartCheckout`
 * mutation both servers receive (ours reads the selection; bench/servers/bare-create.ts answers it
 * without reading it), a closed loop over a few keep-alive connections, and one-at-a-time creates;
 * and the CPU time of a process from /proc.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { percentile } from './common.js';

/** What a storefront asks back from a create: the checkout as written, its line item and merchant. */
export const CREATE_SMART_MUTATION = `mutation Create($input: CreateSmartCheckoutInput!) {
  createSmartCheckout(input: $input) {
    __typename
    ... on CreateSmartCheckoutSuccess {
      checkout {
        __typename id status providerCheckoutId testMode createdAt updatedAt
        total { amount currency decimal }
        lineItems { productUrl quantity }
        merchant { id name website }
      }
    }
    ... on Error { message code }
  }
}`;

/** Product URLs spread over this many stores (merchants), as a marketplace's purchases would be. */
const STORES = 50;

/** The request body of create `i`: a product of one of 50 stores, an email, no idempotency key. */
export function createBody(i: number, prefix = 'item'): string {
  return JSON.stringify({
    query: CREATE_SMART_MUTATION,
    variables: {
      input: { productUrl: `https://store-${i % STORES}.example/${prefix}/${i}`, email: 'ada@example.com' },
    },
  });
}

/** The success branch of a create answer. */
export interface CreatedCheckout {
  id: string;
  status: string;
  providerCheckoutId: string | null;
}

/** Reads a create answer: the checkout, or throws with the answer. */
export function createdCheckout(body: string): CreatedCheckout {
  const answer = JSON.parse(body) as {
    data?: { createSmartCheckout?: { __typename: string; checkout?: CreatedCheckout } };
  };
  const checkout = answer.data?.createSmartCheckout?.checkout;
  if (!checkout) throw new Error(`create failed: ${body.slice(0, 500)}`);
  return checkout;
}

/** The keys of a JSON value, recursively, with the type of each leaf: two answers of one shape compare equal. */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, shapeOf(entry)]));
  return value === null ? 'null' : typeof value;
}

/** A keep-alive client for one server. */
export function createClient(url: string, apiKey: string, connections: number) {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  return {
    /** POSTs one create; the status and body. */
    async post(body: string): Promise<{ status: number; body: string }> {
      const response = await pool.request({ path: '/graphql', method: 'POST', headers, body });
      return { status: response.statusCode, body: await response.body.text() };
    },
    close: () => pool.close(),
  };
}

/** One closed-loop run. */
export interface ClosedLoopRun {
  /** Creates answered per second over the measured window. */
  rps: number;
  creates: number;
  p50: number;
  p99: number;
  /** Answers that were not a created checkout (non-200 or an error branch), and socket errors. */
  failures: number;
}

/**
 * `connections` loops, each sending the next create as soon as its last was answered, for
 * `durationS` seconds; creates numbered from `firstIndex` (so no two runs send the same product).
 */
export async function closedLoop(
  url: string,
  apiKey: string,
  options: { connections: number; durationS: number; firstIndex: number },
): Promise<ClosedLoopRun> {
  const client = createClient(url, apiKey, options.connections);
  const latencies: number[] = [];
  let failures = 0;
  let next = options.firstIndex;
  const start = performance.now();
  const end = start + options.durationS * 1000;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < end) {
        const sentAt = performance.now();
        try {
          const { status, body } = await client.post(createBody(next++));
          if (status !== 200 || !body.includes('"CreateSmartCheckoutSuccess"')) failures++;
          else latencies.push(performance.now() - sentAt);
        } catch {
          failures++;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - start) / 1000;
  await client.close();
  return {
    rps: Math.round(latencies.length / elapsedS),
    creates: latencies.length,
    p50: round(latencies.length ? percentile(latencies, 50) : NaN),
    p99: round(latencies.length ? percentile(latencies, 99) : NaN),
    failures,
  };
}

/** `count` creates one after the other; the wall time of each (ms). Throws on a failed create. */
export async function sequentialCreates(
  url: string,
  apiKey: string,
  count: number,
  firstIndex: number,
  prefix = 'item',
): Promise<number[]> {
  const client = createClient(url, apiKey, 1);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const sentAt = performance.now();
      const { status, body } = await client.post(createBody(firstIndex + i, prefix));
      if (status !== 200) throw new Error(`create answered ${status}: ${body.slice(0, 300)}`);
      createdCheckout(body);
      latencies.push(performance.now() - sentAt);
    }
  } finally {
    await client.close();
  }
  return latencies;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat (10 ms resolution). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may contain spaces) in parentheses: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** CPU time of several processes (those that are gone count 0). */
export function cpuMsOfAll(pids: number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const pid of pids) {
    try {
      result.set(pid, cpuMsOf(pid));
    } catch {
      // exited meanwhile
    }
  }
  return result;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
