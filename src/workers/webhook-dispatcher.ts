import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { deadline } from '../abort-signal.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookRepository } from '../db/webhooks.js';
import { retryDelayMs } from '../webhooks/backoff.js';
import type { WebhookMetrics } from '../webhooks/metrics.js';
import { signatureHeader } from '../webhooks/signing.js';
import { guardedLookup, literalHostProblem, urlProblem, type TargetPolicy } from '../webhooks/targets.js';
import { retryAfterMs } from './backoff.js';
import { LeasedWork } from './leased-work.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The `user-agent` of every delivery. */
export const WEBHOOK_USER_AGENT = `checkout-graph-webhooks/${version}`;

/** Response bytes kept in the delivery log. */
const KEPT_RESPONSE_BYTES = 1024;

/** Settings of the webhook dispatcher. */
export interface WebhookDispatcherOptions {
  /** Identifies this instance's leases in the database. */
  instanceId: string;
  /** Delay before the first retry; grows 2.5 times per failed attempt. */
  retryBaseMs: number;
  /** Attempts before a delivery is FAILED. */
  maxAttempts: number;
  /** Time budget of one POST. */
  timeoutMs: number;
  /** An endpoint failing this long is disabled. */
  disableAfterMs: number;
  /** Which targets may be sent to (checked again at send time, against DNS rebinding). */
  policy: TargetPolicy;
  /** POSTs in flight at once. */
  concurrency?: number;
  /**
   * Pause between looks for due deliveries when nothing woke the dispatcher (the safety net for
   * deliveries written by other processes); doubles while nothing is found, up to `maxScanIntervalMs`.
   */
  scanIntervalMs?: number;
  maxScanIntervalMs?: number;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  metrics?: WebhookMetrics;
}

/** What one POST came back with. */
interface SendResult {
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  retryAfterMs: number | null;
}

/**
 * Sends the webhook outbox: claims due deliveries with leases (several instances never attempt one
 * delivery at once; a crashed instance's leases lapse and are taken over), POSTs each signed per
 * Standard Webhooks, and records every attempt. At least once: a receiver dedupes on `webhook-id`.
 */
export class WebhookDispatcher {
  /**
   * Up to `concurrency` POSTs in flight. An idle instance looks less and less often (the writes of
   * this process wake it anyway), and a finished attempt may unblock the next delivery of its
   * checkout, so each one makes it look again at once.
   */
  private readonly work: LeasedWork<ClaimedDelivery>;
  /** Wake-ups at retries this instance scheduled sooner than its next scan. */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly agent: Agent;
  private readonly maxScanIntervalMs: number;
  private readonly random: () => number;

  constructor(
    /** Where the outbox is read and attempts are recorded. */
    readonly repository: WebhookRepository,
    private readonly logger: Logger,
    private readonly options: WebhookDispatcherOptions,
  ) {
    this.maxScanIntervalMs = options.maxScanIntervalMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.work = new LeasedWork({
      what: 'webhook deliveries',
      claim: (limit) => repository.claimDue(options.instanceId, limit, options.timeoutMs + 5_000),
      run: (delivery, signal) => this.attempt(delivery, signal),
      concurrency: options.concurrency ?? 16,
      idle: { minMs: options.scanIntervalMs ?? 1_000, maxMs: this.maxScanIntervalMs },
      wakeWhenSettled: true,
      release: () => repository.releaseLeases(options.instanceId),
      logger,
    });
    // The guarded lookup is the connection's own: the address checked is the address connected to.
    this.agent = new Agent({
      connect: { timeout: options.timeoutMs, ...(!options.policy.allowPrivate && { lookup: guardedLookup }) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  start(): void {
    this.work.start();
  }

  /** Looks for due deliveries now (after a status change was written, or a redelivery asked for). */
  wake(): void {
    this.work.wake();
  }

  /** Stops claiming, aborts the POSTs in flight, and gives back this instance's leases. */
  async stop(): Promise<void> {
    if (!this.work.active) return;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    const released = await this.work.stop();
    await this.agent.close().catch(() => undefined);
    this.logger.info({ released }, 'webhook dispatcher stopped');
  }

  /** One attempt of one claimed delivery, recorded whatever happens. */
  private async attempt(delivery: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const startedAt = new Date();
    const started = performance.now();
    const result = await this.send(delivery, startedAt, signal);
    if (signal.aborted && result.error) return; // stopping: the lease is handed back as is
    const durationMs = Math.round(performance.now() - started);
    const attempts = delivery.attemptCount + 1;
    const ok = result.responseStatus !== null && result.responseStatus >= 200 && result.responseStatus < 300;
    const status = ok ? 'SUCCEEDED' : attempts >= this.options.maxAttempts ? 'FAILED' : 'PENDING';
    const retryInMs = Math.max(retryDelayMs(attempts, this.options.retryBaseMs, this.random), result.retryAfterMs ?? 0);
    const outcome: AttemptOutcome = {
      owner: this.options.instanceId,
      startedAt,
      durationMs,
      ...result,
      status,
      retryInMs: status === 'PENDING' ? retryInMs : 0,
      disableAfterMs: this.options.disableAfterMs,
    };
    const label = ok ? 'succeeded' : status === 'FAILED' ? 'failed' : 'retry';
    this.options.metrics?.deliveries.inc({ outcome: label });
    this.options.metrics?.attemptDuration.observe({ outcome: label }, durationMs / 1000);
    const log = this.logger.child({
      deliveryId: delivery.id,
      webhookId: delivery.eventId,
      endpointId: delivery.endpointId,
      checkoutId: checkoutIdOf(delivery.body),
    });
    try {
      const disabled = await this.repository.recordAttempt(delivery, outcome);
      log[ok ? 'info' : 'warn'](
        {
          attempt: attempts,
          outcome: label,
          responseStatus: result.responseStatus,
          durationMs,
          ...(result.error && { error: result.error }),
          ...(status === 'PENDING' && { retryInMs }),
        },
        'webhook attempt',
      );
      if (disabled) log.warn('webhook endpoint disabled: its attempts kept failing');
      if (status === 'PENDING') this.wakeAfter(retryInMs);
    } catch (error) {
      log.error({ err: error }, 'could not record a webhook attempt');
    }
  }

  /** Wakes the dispatcher when a retry it scheduled is due, if that may come before its next scan. */
  private wakeAfter(delayMs: number): void {
    if (!this.work.active || delayMs >= this.maxScanIntervalMs) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.wake();
    }, delayMs + 5).unref();
    this.retryTimers.add(timer);
  }

  /** POSTs the event; never throws (a refused target or a network failure is an attempt's error). */
  private async send(delivery: ClaimedDelivery, at: Date, stopped: AbortSignal): Promise<SendResult> {
    const failed = (error: string): SendResult => ({
      responseStatus: null,
      responseBody: null,
      error,
      retryAfterMs: null,
    });
    const { policy } = this.options;
    const refused = urlProblem(delivery.url, policy) ?? (policy.allowPrivate ? null : literalHostProblem(delivery.url));
    if (refused) return failed(`target refused: ${refused}`);
    const budget = deadline(this.options.timeoutMs, stopped);
    try {
      const response = await request(delivery.url, {
        method: 'POST',
        dispatcher: this.agent,
        signal: budget.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': WEBHOOK_USER_AGENT,
          'webhook-id': delivery.eventId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signatureHeader(delivery.secrets, delivery.eventId, at, delivery.body),
        },
        body: delivery.body,
      });
      return {
        responseStatus: response.statusCode,
        responseBody: await readStart(response.body),
        error: null,
        retryAfterMs: retryAfterMs(response.headers['retry-after']),
      };
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      const message = error instanceof Error ? error.message : String(error);
      return failed(cause instanceof Error && cause.message !== message ? `${message}: ${cause.message}` : message);
    } finally {
      budget.release();
    }
  }
}

/** The first KEPT_RESPONSE_BYTES of a body (as text); the rest is not read. */
async function readStart(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= KEPT_RESPONSE_BYTES) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, KEPT_RESPONSE_BYTES).toString('utf8');
}

/** The checkout a delivery is about, as the API names it (its body's `data.checkout.id`), for its log line. */
function checkoutIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { data?: { checkout?: { id?: unknown } } } | null)?.data?.checkout?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
