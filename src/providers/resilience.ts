import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  retry,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import type { ProviderName } from '../domain/checkout.js';
import { ProviderError } from '../domain/errors.js';

/** Tuning of one provider's retry and circuit breaker. */
export interface ResilienceOptions {
  /** Consecutive failures (timeouts, refused connections, 5xx) that open the breaker. */
  breakerThreshold?: number;
  /** How long the breaker stays open before one half-open probe may pass. */
  halfOpenAfterMs?: number;
  /** Extra attempts of a safe (GET) request after a retryable failure. POSTs are never retried. */
  getRetries?: number;
  /** First retry delay; later ones grow exponentially with jitter up to `retryMaxDelayMs`. */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** The provider's name for people, in the open breaker's message (default: its enum name). */
  label?: string;
  /** Told the duration and outcome of every call (for metrics and its log line), with the request it was made for. */
  observe?: (
    method: 'GET' | 'POST',
    outcome: 'ok' | 'error' | 'rejected',
    seconds: number,
    requestId: string | undefined,
  ) => void;
}

/** Breaker states as reported to operators and metrics. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A failure that says something about the provider's health (not a 4xx about our request, not a 429). */
function isOutage(error: Error): boolean {
  return error instanceof ProviderError && error.retryable && error.httpStatus !== 429;
}

/**
 * Retry, and a circuit breaker, for every call to one provider (cockatiel, shared by the
 * mutations and the poller of this process). Only GETs are retried, with jittered exponential
 * backoff, and never when the provider asked us to wait (Retry-After): a create POST that may have
 * reached the provider must not be sent twice. While the breaker is open every call fails at once
 * with a retryable ProviderError and no request leaves the process.
 */
export class ProviderResilience {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly safeRetry: IPolicy;
  private readonly halfOpenAfterMs: number;
  private readonly threshold: number;
  private readonly observe: ResilienceOptions['observe'];
  private readonly label: string;
  /** When the breaker last opened (by this process's clock, as cockatiel reads it). */
  private openedAt = 0;

  constructor(
    readonly provider: ProviderName,
    options: ResilienceOptions = {},
  ) {
    this.observe = options.observe;
    this.label = options.label ?? provider;
    this.threshold = options.breakerThreshold ?? 5;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 10_000;
    this.breaker = circuitBreaker(handleWhen(isOutage), {
      halfOpenAfter: this.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.threshold),
    });
    // cockatiel keeps its own opening time private; `onBreak` is emitted right after it is taken.
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.safeRetry = retry(
      handleWhen((error) => isOutage(error) && (error as ProviderError).retryAfterMs === null),
      {
        maxAttempts: options.getRetries ?? 2,
        backoff: new ExponentialBackoff({
          initialDelay: options.retryInitialDelayMs ?? 100,
          maxDelay: options.retryMaxDelayMs ?? 1_000,
        }),
      },
    );
  }

  /** The breaker's state right now. */
  get state(): BreakerState {
    switch (this.breaker.state) {
      case CircuitState.Open:
      case CircuitState.Isolated:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'closed';
    }
  }

  /**
   * The error a `method` call would fail with right now without being sent, or undefined when it
   * may be sent. Open means no call leaves the process until `halfOpenAfterMs` have passed since
   * it opened; after that cockatiel still reports Open, but the next call is let through as the
   * half-open probe, so it is not refused here. Half-open lets calls through too: they wait for the
   * probe. A refusal is observed like a call the breaker rejected (metrics, its log line), so an
   * outage looks the same to operators whether a call was refused here or in `execute`.
   */
  unavailable(method: 'GET' | 'POST', requestId?: string): ProviderError | undefined {
    const state = this.breaker.state;
    const open =
      state === CircuitState.Isolated ||
      (state === CircuitState.Open && Date.now() - this.openedAt < this.halfOpenAfterMs);
    if (!open) return undefined;
    this.observe?.(method, 'rejected', 0, requestId);
    return this.brokenCircuitError();
  }

  /** Runs one provider request under the breaker (and, for GETs, the retry policy inside it). */
  async execute<T>(method: 'GET' | 'POST', request: () => Promise<T>, requestId?: string): Promise<T> {
    const guarded = () => this.breaker.execute(request);
    const started = performance.now();
    const done = (outcome: 'ok' | 'error' | 'rejected') =>
      this.observe?.(method, outcome, (performance.now() - started) / 1000, requestId);
    try {
      const result = method === 'GET' ? await this.safeRetry.execute(guarded) : await guarded();
      done('ok');
      return result;
    } catch (error) {
      done(isBrokenCircuitError(error) ? 'rejected' : 'error');
      if (isBrokenCircuitError(error)) throw this.brokenCircuitError(error);
      throw error;
    }
  }

  /** What a call refused by the breaker fails with: retryable, and nothing was sent. */
  private brokenCircuitError(cause?: unknown): ProviderError {
    return new ProviderError(
      `${this.label} is unavailable: ${this.threshold} calls in a row failed, so calls are paused for up to ${Math.ceil(this.halfOpenAfterMs / 1000)} s`,
      { provider: this.provider, retryable: true, delivery: 'no' },
      cause === undefined ? undefined : { cause },
    );
  }
}
