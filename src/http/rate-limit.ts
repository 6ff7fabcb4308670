import type { Redis } from 'ioredis';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** How many operations a caller may run. */
export interface RateLimitOptions {
  /** Operations per caller per minute. */
  perMinute: number;
  /** Counters shared by every instance; without it each instance counts its own. */
  redis?: Redis;
}

/** The state of a caller's allowance after one operation. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/** The policy's name in the IETF RateLimit headers. */
const POLICY = 'operations';
const WINDOW_SECONDS = 60;

/**
 * Per-caller operation limits from rate-limiter-flexible: in memory, or in Redis (one count for
 * every instance) with an in-memory limiter taking over while Redis is unreachable. Each operation
 * (an HTTP request, or one graphql-ws operation) takes one point.
 */
export class OperationRateLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(private readonly options: RateLimitOptions) {
    const settings = { points: options.perMinute, duration: WINDOW_SECONDS };
    this.limiter = options.redis
      ? new RateLimiterRedis({
          ...settings,
          storeClient: options.redis,
          keyPrefix: 'checkout-graph:rate',
          insuranceLimiter: new RateLimiterMemory(settings),
        })
      : new RateLimiterMemory(settings);
  }

  /** `RateLimit-Policy` header value (draft-ietf-httpapi-ratelimit-headers). */
  get policyHeader(): string {
    return `"${POLICY}";q=${this.options.perMinute};w=${WINDOW_SECONDS}`;
  }

  /** Counts one operation of `caller`. */
  async take(caller: string): Promise<RateLimitDecision> {
    try {
      return this.decision(await this.limiter.consume(caller), true);
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return this.decision(refusal, false);
      throw refusal;
    }
  }

  /** Counts one operation and refuses it (RATE_LIMITED, HTTP 429 with Retry-After) when over the limit. */
  async check(caller: string): Promise<RateLimitDecision> {
    const decision = await this.take(caller);
    if (!decision.allowed) {
      const wait = Math.max(1, decision.resetSeconds);
      throw createGraphQLError(
        `Rate limit exceeded: at most ${this.options.perMinute} operations per minute; retry in ${wait} s`,
        {
          extensions: {
            code: 'RATE_LIMITED',
            retryAfterSeconds: wait,
            http: { status: 429, headers: { 'retry-after': String(wait), ...this.headers(decision) } },
          },
        },
      );
    }
    return decision;
  }

  /** The IETF headers that describe `decision`. */
  headers(decision: RateLimitDecision): Record<string, string> {
    return {
      'ratelimit-policy': this.policyHeader,
      ratelimit: `"${POLICY}";r=${decision.remaining};t=${decision.resetSeconds}`,
    };
  }

  private decision(result: RateLimiterRes, allowed: boolean): RateLimitDecision {
    return {
      allowed,
      limit: this.options.perMinute,
      remaining: Math.max(0, result.remainingPoints),
      resetSeconds: Math.ceil(result.msBeforeNext / 1000),
    };
  }
}

/**
 * Puts the caller's RateLimit headers on every HTTP answer. The context records each request's
 * decision with `remember`; answers refused before a context existed carry none.
 */
export function useRateLimitHeaders(limiter: OperationRateLimiter): {
  plugin: Plugin;
  remember(request: Request, decision: RateLimitDecision): void;
} {
  const decisions = new WeakMap<Request, RateLimitDecision>();
  return {
    remember: (request, decision) => void decisions.set(request, decision),
    plugin: {
      onResponse({ request, response }) {
        const decision = decisions.get(request);
        if (!decision) return;
        for (const [name, value] of Object.entries(limiter.headers(decision))) response.headers.set(name, value);
      },
    },
  };
}
