import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { onTestFinished } from 'vitest';
import { envSchema } from '../../src/config/index.js';
import { waitFor } from './async.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One log line of a server process (pino JSON). */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A real server process: the API (`node --import tsx src/main.ts`) or another entry (gateway, example subgraph). */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** Base URL, e.g. `http://127.0.0.1:41234` (no `/graphql`). */
  readonly url: string;
  /** Every JSON log line it wrote on stdout, parsed. */
  readonly logs: LogLine[];
  /** Everything else it wrote (stderr and non-JSON stdout), for failure messages. */
  readonly otherOutput: string[];
  /** Resolves when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: boolean;
  kill(signal: NodeJS.Signals): void;
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** What to start when it is not the API itself. */
export interface ProcessEntry {
  /** Node arguments after `node`, e.g. `['--import', 'tsx', 'examples/orders/server.ts']`. */
  args: string[];
  /** The port it will listen on (it has no "checkout graph listening" line to read one from). */
  port: number;
  /** Answers 200 once the process is ready. */
  healthPath: string;
}

/**
 * Starts `node --import tsx src/main.ts` (or `entry`) with `env` on top of a clean environment (no
 * inherited app variable), and resolves once it is listening and its health path answers 200. For
 * the API, PORT defaults to 0 and the URL is read from the "checkout graph listening" log line, so
 * no port is ever guessed.
 */
export async function startServerProcess(
  name: string,
  env: Record<string, string>,
  readyTimeoutMs = 30_000,
  entry?: ProcessEntry,
): Promise<ServerProcess> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A crashed test worker must not leave servers behind.
    process.once('exit', () => {
      for (const child of children) child.kill('SIGKILL');
    });
  }
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(envSchema.shape)) delete base[key];
  const child = spawn(process.execPath, entry?.args ?? ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...base, NODE_ENV: 'test', PORT: String(entry?.port ?? 0), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const logs: LogLine[] = [];
  const otherOutput: string[] = [];
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      children.delete(child);
      resolve({ code, signal });
    });
  });
  let listening: ((url: string) => void) | undefined;
  const urlPromise = entry
    ? Promise.resolve(`http://127.0.0.1:${entry.port}`)
    : new Promise<string>((resolve) => (listening = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const parsed = JSON.parse(line) as LogLine;
      logs.push(parsed);
      if (parsed.msg?.startsWith('checkout graph listening') && typeof parsed.url === 'string')
        listening?.(parsed.url.replace(/\/graphql$/, ''));
    } catch {
      otherOutput.push(line);
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => otherOutput.push(line));

  const handle: ServerProcess = {
    name,
    pid: child.pid!,
    url: '',
    logs,
    otherOutput,
    exit,
    get exited() {
      return exited;
    },
    kill: (signal) => {
      if (!exited) child.kill(signal);
    },
  };
  const failure = (reason: string) => new Error(`${name} ${reason}\n${otherOutput.join('\n')}`);
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(failure(`not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs).unref(),
  );
  const died = exit.then(({ code, signal }) =>
    Promise.reject(failure(`exited during start-up (code ${code}, signal ${signal})`)),
  );
  try {
    const url = await Promise.race([urlPromise, timeout, died]);
    Object.defineProperty(handle, 'url', { value: url });
    await Promise.race([
      waitFor(
        async () => (await fetch(`${url}${entry?.healthPath ?? '/health'}`).catch(() => undefined))?.status === 200,
        {
          timeoutMs: readyTimeoutMs,
          what: `${name} ${entry?.healthPath ?? '/health'}`,
        },
      ),
      died,
    ]);
  } catch (error) {
    handle.kill('SIGKILL');
    throw error;
  }
  return handle;
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`. Resolves with how it exited. */
export async function stopServerProcess(server: ServerProcess | undefined, graceMs = 12_000) {
  if (!server) return undefined;
  if (server.exited) return server.exit;
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), graceMs);
  const result = await server.exit;
  clearTimeout(timer);
  return result;
}

/** SIGKILLs every server process this module started that is still running. */
export async function killAllServerProcesses(): Promise<void> {
  const waiting = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waiting);
}

/** A GraphQL answer of a server process, with its HTTP status. */
export interface GraphQLResult<T> {
  status: number;
  data?: T | null;
  errors?: { message: string }[];
}

/** Sends a typed document to a server process over HTTP POST with `apiKey` (and any extra `headers`). */
export async function gql<TResult, TVariables>(
  server: ServerProcess,
  apiKey: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Promise<GraphQLResult<TResult>> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      authorization: `Bearer ${apiKey}`,
      ...headers,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResult<TResult>, 'status'>) };
}

/** A Node script run for the running test alone, and every line it wrote (stdout and stderr, as they came). */
export interface ScopedNodeProcess {
  child: ChildProcess;
  lines: string[];
}

/**
 * Runs `node <args>` (from the repository's root unless `cwd` says otherwise) for the running test:
 * killed when the test finishes, however it ends.
 */
export function scopedNodeProcess(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): ScopedNodeProcess {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  return { child, lines };
}
