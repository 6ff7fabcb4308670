import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import { createGraphQLError, Repeater } from 'graphql-yoga';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import type { CheckoutRow } from '../db/schema.js';
import { isTerminal } from '../domain/checkout.js';
import { checkoutOf, type CheckoutChange } from '../realtime/pubsub.js';
import { CheckoutInterface, loadCheckout } from './checkout.js';

/** What wakes a status stream: a published change, or a tick to re-read the checkout. */
type Wakeup = CheckoutChange | 'resync';

/**
 * The checkout now, then once per status change, ending after a terminal status. It listens to
 * the topic before reading the current state, and skips changes that state already includes,
 * so nothing falls between the read and the first notification and nothing repeats. On every
 * resync tick (the bus back after an outage, and a bounded interval) it re-reads the checkout and
 * emits it if it moved on without a message arriving here.
 * A Repeater rather than an async generator: a generator waiting for the next change could only
 * be returned once that change came, so an unsubscribed client would hold its place until then.
 * Changes and ticks arrive as callbacks into one queue, so an idle stream holds one pending
 * promise of its own rather than an iterator per source and another to merge them.
 */
function followCheckout(first: CheckoutRow, ctx: Context): AsyncIterable<CheckoutRow> {
  return new Repeater<CheckoutRow>(async (push, stop) => {
    const wakeups = new WakeupQueue();
    const unlistenChanges = ctx.pubsub.listenToCheckout(first.id, (change) => wakeups.add(change));
    const unlistenTicks = ctx.onResync(() => wakeups.add('resync'));
    void stop.then(() => wakeups.close());
    ctx.openSubscriptions.inc();
    try {
      const current = await currentState(ctx, first.id);
      if (!current) return;
      let seen = current.lastEventId;
      await push(current.row);
      if (isTerminal(current.row.status)) return;
      for (let wakeup = await wakeups.next(); wakeup; wakeup = await wakeups.next()) {
        const next = wakeup === 'resync' ? await rereadOrRetry(ctx, first.id, wakeups) : changeState(wakeup);
        if (!next || next.lastEventId <= seen) continue;
        seen = next.lastEventId;
        await push(next.row);
        if (isTerminal(next.row.status)) return;
      }
    } finally {
      wakeups.close();
      ctx.openSubscriptions.dec();
      unlistenChanges();
      unlistenTicks();
      stop();
    }
  });
}

/** Wakeups in arrival order; `next` waits for one, and resolves undefined once closed. */
class WakeupQueue {
  private readonly queued: Wakeup[] = [];
  private waiting?: (wakeup: Wakeup | undefined) => void;
  private closed = false;
  private retry?: NodeJS.Timeout;
  /** Re-reads that failed in a row (the database unreachable): the next waits longer. */
  failedRereads = 0;

  add(wakeup: Wakeup): void {
    if (this.closed) return;
    // Ticks carry no data: one waiting is as good as several.
    if (wakeup === 'resync' && this.queued.at(-1) === 'resync') return;
    if (this.waiting) {
      const resume = this.waiting;
      this.waiting = undefined;
      resume(wakeup);
    } else this.queued.push(wakeup);
  }

  next(): Promise<Wakeup | undefined> | Wakeup | undefined {
    if (this.queued.length > 0) return this.queued.shift();
    if (this.closed) return undefined;
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Adds a re-read after `ms` (one pending at a time), unless the queue is closed by then. */
  resyncLater(ms: number): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.add('resync');
    }, ms);
  }

  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.closed = true;
    this.queued.length = 0;
    this.waiting?.(undefined);
    this.waiting = undefined;
  }
}

/** The checkout as the read model has it, with the id of its latest event. */
async function currentState(ctx: Context, id: string): Promise<{ row: CheckoutRow; lastEventId: number } | undefined> {
  const [aggregate] = await ctx.reads.aggregates(ctx.tenant, [id]);
  return aggregate && { row: aggregate.row, lastEventId: aggregate.events.at(-1)?.id ?? 0 };
}

/** The longest wait between two re-reads of a stream whose re-reads fail. */
const MAX_REREAD_DELAY_MS = 30_000;

/**
 * A re-read that fails (the database restarting, a failover) ends nothing: the stream keeps what
 * it has sent and tries again after 0.5 s, 1 s, 2 s … up to 30 s, so that it delivers, in order,
 * every change it missed once the database answers. Changes published meanwhile arrive as usual.
 */
async function rereadOrRetry(ctx: Context, id: string, wakeups: WakeupQueue) {
  try {
    const state = await currentState(ctx, id);
    wakeups.failedRereads = 0;
    return state;
  } catch (error) {
    const delayMs = Math.min(500 * 2 ** wakeups.failedRereads, MAX_REREAD_DELAY_MS);
    wakeups.failedRereads += 1;
    ctx.logger.warn(
      { err: error, checkoutId: id, retryInMs: delayMs },
      'a status stream could not re-read its checkout',
    );
    wakeups.resyncLater(delayMs);
    return undefined;
  }
}

function changeState(change: CheckoutChange) {
  return { row: checkoutOf(change), lastEventId: change.eventId };
}

builder.subscriptionFields((t) => ({
  checkoutStatusChanged: t.field({
    type: CheckoutInterface,
    description:
      "The checkout now, then once per status change; completes after a terminal status (COMPLETED, FAILED, EXPIRED). A client that reconnects gets the current state first, so it loses nothing. An unknown id, or another tenant's, ends at once with a NOT_FOUND error.",
    args: { id: t.arg.id({ required: true, description: 'Global id of the checkout.' }) },
    // A plain async function, not a generator: an unknown id fails before the stream starts.
    subscribe: async (_root, args, ctx) => {
      const globalId = String(args.id);
      const row = await loadCheckout(globalId, ctx);
      if (!row) throw createGraphQLError(`No checkout with id ${globalId}`, { extensions: { code: 'NOT_FOUND' } });
      return followCheckout(row, ctx);
    },
    resolve: (row, _args, ctx) => {
      // The subscription's loaders live as long as it does: each event must read fresh line items and events.
      clearAllDataLoaders(ctx);
      return row;
    },
  }),
}));
