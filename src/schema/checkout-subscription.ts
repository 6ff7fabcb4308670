import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import { createGraphQLError, Repeater } from 'graphql-yoga';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import type { CheckoutRow } from '../db/schema.js';
import { isTerminal, type CheckoutStatus } from '../domain/checkout.js';
import { checkoutOf } from '../realtime/pubsub.js';
import { CheckoutInterface, loadCheckout } from './checkout.js';

/**
 * The checkout now, then once per status change, ending after a terminal status. It subscribes
 * to the topic before reading the current state, and skips published changes that state already
 * includes, so nothing falls between the read and the first notification and nothing repeats.
 * A Repeater rather than an async generator: a generator waiting for the next change could only
 * be returned once that change came, so an unsubscribed client would hold its place until then.
 */
function followCheckout(first: CheckoutRow, ctx: Context): AsyncIterable<CheckoutRow> {
  return new Repeater<CheckoutRow>(async (push, stop) => {
    const changes = ctx.pubsub.subscribe('checkoutChanged', first.id);
    // The client went away (or we stopped): end the topic subscription, which ends the loop below.
    void stop.then(() => changes.return());
    ctx.openSubscriptions.inc();
    try {
      const current = await ctx.repository.currentState(ctx.tenant, first.id);
      if (!current) return;
      let seen = current.lastEventId;
      await push(current.row);
      if (isTerminal(current.row.status as CheckoutStatus)) return;
      for await (const change of changes) {
        if (change.eventId <= seen) continue;
        seen = change.eventId;
        const row = checkoutOf(change);
        await push(row);
        if (isTerminal(row.status as CheckoutStatus)) return;
      }
    } finally {
      ctx.openSubscriptions.dec();
      stop();
      await changes.return();
    }
  });
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
