import type { Redis } from 'ioredis';

/** How the Redis health watch paces itself. */
export interface RedisHealthOptions {
  /** How often Redis is pinged, whatever the traffic, so that a freeze is noticed without a request. */
  pingIntervalMs?: number;
  /**
   * How long Redis must stay unanswering before it counts as an outage (the bus goes down, one log
   * line, /health degraded). A single late answer is more often this process's own event loop
   * blocked past the deadline than Redis: that skips Redis for the next calls, and no more.
   */
  outageAfterMs?: number;
}

/**
 * Whether the Redis command connection answers, so that no request waits on a sick Redis: a
 * frozen Redis (SIGSTOP, a network partition) keeps its TCP connection and ioredis keeps saying
 * `ready`, so readiness alone cannot tell. Every command runs with ioredis's `commandTimeout`; the
 * first that fails (deadline passed, connection refused) makes Redis not `available`, so callers
 * that wait for an answer use their in-memory fallback, and a ping is sent at once. A ping that
 * answers within the deadline makes it available again. Unavailable for `outageAfterMs` is an
 * outage, told to `listen`ers when it starts and when it ends. A ping every `pingIntervalMs`
 * finds a freeze even on an idle instance.
 */
export class RedisHealth {
  private usable = true;
  private inOutage = false;
  private probing = false;
  private outageTimer: NodeJS.Timeout | undefined;
  private readonly pinger: NodeJS.Timeout;
  private readonly listeners = new Set<(up: boolean) => void>();
  /** Why Redis was last found unanswering. */
  lastFailure = '';

  constructor(
    private readonly client: Redis,
    private readonly options: RedisHealthOptions = {},
  ) {
    this.pinger = setInterval(() => void this.probe(), options.pingIntervalMs ?? 1_000);
    this.pinger.unref();
  }

  /** False from the first failed command until a ping answers: callers that wait use their fallback. */
  get available(): boolean {
    return this.usable;
  }

  /** True while Redis has been unanswering for longer than `outageAfterMs`. */
  get outage(): boolean {
    return this.inOutage;
  }

  /** Listens to the start (`false`) and end (`true`) of outages; returns the unsubscribe. */
  listen(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Runs one command whose answer a request waits for: rejects at once while Redis is not
   * available, and makes it unavailable when the command fails (the client's deadline included).
   */
  async run<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    if (!this.usable) throw new Error('Redis is unavailable');
    return this.send(command);
  }

  /** Sends one command whatever the state (a publication nobody waits for), reporting a failure. */
  async send<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await command(this.client);
    } catch (error) {
      this.failed(error);
      throw error;
    }
  }

  /** Stops pinging. */
  stop(): void {
    clearInterval(this.pinger);
    clearTimeout(this.outageTimer);
    this.listeners.clear();
  }

  private failed(error: unknown): void {
    this.lastFailure = error instanceof Error ? error.message : String(error);
    if (!this.usable) return;
    this.usable = false;
    this.outageTimer = setTimeout(() => {
      if (this.usable) return;
      this.inOutage = true;
      for (const listener of this.listeners) listener(false);
    }, this.options.outageAfterMs ?? 1_000);
    this.outageTimer.unref();
    void this.probe();
  }

  private async probe(): Promise<void> {
    // One ping at a time: while Redis is frozen each waits for its deadline.
    if (this.probing || this.client.status === 'end') return;
    this.probing = true;
    try {
      await this.client.ping();
      this.recovered();
    } catch (error) {
      this.failed(error);
    } finally {
      this.probing = false;
    }
  }

  private recovered(): void {
    if (this.usable) return;
    this.usable = true;
    clearTimeout(this.outageTimer);
    if (!this.inOutage) return;
    this.inOutage = false;
    for (const listener of this.listeners) listener(true);
  }
}
