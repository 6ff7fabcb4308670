import type { Redis } from 'ioredis';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisHealth } from '../realtime/redis-health.js';

/** How many operations a caller may run. */
export interface RateLimitOptions {
  /** Operations per caller per minute. */
  perMinute: number;
  /**
   * Counters shared by every instance, and the health of their connection; without it each
   * instance counts its own.
   */
  redis?: { client: Redis; health: RedisHealth };
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
 * every instance) with the in-memory limiter standing in whenever Redis does not answer within its
 * command deadline. The stand-in is chosen before the call while Redis is known to be unavailable
 * (RedisHealth), so a sick Redis costs a request at most one deadline, once per outage; it is the
 * same insurance rate-limiter-flexible's `insuranceLimiter` option gives, with the failure
 * reported to the health watch instead of swallowed. Each operation (an HTTP request, or one
 * graphql-ws operation) takes one point.
 */
export class OperationRateLimiter {
  private readonly memory: RateLimiterMemory;
  private readonly shared: RateLimiterRedis | undefined;

  constructor(private readonly options: RateLimitOptions) {
    const settings = { points: options.perMinute, duration: WINDOW_SECONDS };
    this.memory = new RateLimiterMemory(settings);
    this.shared = options.redis
      ? new RateLimiterRedis({ ...settings, storeClient: options.redis.client, keyPrefix: 'checkout-graph:rate' })
      : undefined;
  }

  /** `RateLimit-Policy` header value (draft-ietf-httpapi-ratelimit-headers). */
  get policyHeader(): string {
    return `"${POLICY}";q=${this.options.perMinute};w=${WINDOW_SECONDS}`;
  }

  /** Counts one operation of `caller`: in Redis while it answers, in this instance's memory otherwise. */
  async take(caller: string): Promise<RateLimitDecision> {
    const redis = this.options.redis;
    if (this.shared && redis?.health.available) {
      const shared = this.shared;
      try {
        return this.decision(...(await redis.health.run(() => consume(shared, caller))));
      } catch {
        // Redis failed within its deadline (now marked unavailable): this operation counts here.
      }
    }
    return this.decision(...(await consume(this.memory, caller)));
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
 * One point of `caller`, and whether it was within the limit. A refusal is an answer, not a
 * failure: only errors of the store (Redis) reject.
 */
async function consume(
  limiter: RateLimiterMemory | RateLimiterRedis,
  caller: string,
): Promise<[RateLimiterRes, boolean]> {
  try {
    return [await limiter.consume(caller), true];
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) return [refusal, false];
    throw refusal;
  }
}

const DECISION = Symbol('checkout-graph.rateLimitDecision');
type DecidedRequest = Request & { [DECISION]?: RateLimitDecision };

/**
 * Puts the caller's RateLimit headers on every HTTP answer. The context records each request's
 * decision with `remember`; answers refused before a context existed carry none.
 */
export function useRateLimitHeaders(limiter: OperationRateLimiter): {
  plugin: Plugin;
  remember(request: Request, decision: RateLimitDecision): void;
} {
  // On the request itself, not in a WeakMap keyed by it: V8's scavenger keeps young WeakMap keys
  // alive, which promoted every request to the old generation (bench/README.md, "Garbage per request").
  return {
    remember: (request, decision) => {
      (request as DecidedRequest)[DECISION] = decision;
    },
    plugin: {
      onResponse({ request, response }) {
        const decision = (request as DecidedRequest)[DECISION];
        if (!decision) return;
        for (const [name, value] of Object.entries(limiter.headers(decision))) response.headers.set(name, value);
      },
    },
  };
}
