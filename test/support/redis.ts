import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { onTestFinished } from 'vitest';
import { waitFor } from './async.js';
import { freePort } from './net.js';

/** A Redis server of a test's own (Debian's redis-server), which it can kill, start again, freeze and thaw. */
export interface PrivateRedis {
  url: string;
  /** Starts it (again) on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGKILL: connections are reset, the port refuses. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers, as in a network partition. */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
}

/** Starts a private Redis for the running test; it is killed when the test finishes. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(async () => (await answersPing(port)) === true, { what: 'redis-server to answer' });
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  onTestFinished(kill);
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
  };
}

/** True when a Redis answers PING on `port`. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}
