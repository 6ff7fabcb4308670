import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import type { z } from 'zod';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { CHECKOUT_STATUSES, type CheckoutStatus, type ProviderName } from '../domain/checkout.js';
import { NotFoundError, ProviderError } from '../domain/errors.js';
import type { LineItemRecord } from '../domain/ports.js';
import type { CheckoutEventRecord, CheckoutRecord } from '../domain/records.js';
import { definitionOf } from '../providers/index.js';
import { CheckoutProviderEnum } from './errors.js';
import { decodeGlobalIdSafely, loadByGlobalId } from './global-id.js';
import { MerchantNode } from './merchant.js';
import { money, MoneyRef } from './money.js';
import { sequenceCursor } from './sequence-cursor.js';

/** Cursors of `checkouts` pages. */
const checkoutCursor = sequenceCursor('checkout');

const STATUS_DESCRIPTIONS: Record<CheckoutStatus, string> = {
  PENDING: 'Recorded here; the provider has not answered yet.',
  OPEN: 'Created at the provider and waiting for the shopper (a link or session to open).',
  PROCESSING: 'The provider is working on the purchase.',
  COMPLETED: 'The purchase succeeded. Terminal.',
  FAILED: 'The purchase or its creation failed; see notes. Terminal.',
  EXPIRED:
    'Nobody reported an outcome within CHECKOUT_OPEN_TTL_SECONDS of creation (default 24 h), or the merchant recorded it as expired. Terminal.',
  UNKNOWN:
    'The outcome at the provider is not known (it never answered a create call, or its status answers could not be used): recordCheckoutOutcome or an operator can resolve it.',
};

export const CheckoutStatusEnum = builder.enumType('CheckoutStatus', {
  description: 'Where a checkout is, in one vocabulary for every provider.',
  values: Object.fromEntries(
    CHECKOUT_STATUSES.map((status) => [status, { value: status, description: STATUS_DESCRIPTIONS[status] }]),
  ) as Record<CheckoutStatus, { value: CheckoutStatus; description: string }>,
});

const LineItemRef = builder.objectRef<LineItemRecord>('LineItem').implement({
  description: "One line of a checkout. Amounts are in the checkout's currency.",
  fields: (t) => ({
    productId: t.exposeString('productId', { nullable: true, description: "The merchant's product id." }),
    description: t.exposeString('description', { nullable: true, description: 'What is bought.' }),
    sku: t.exposeString('sku', { nullable: true, description: 'Stock keeping unit.' }),
    quantity: t.exposeInt('quantity', { description: 'How many units.' }),
    unitPrice: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Price of one unit; null while unknown.',
      resolve: (item) => money(item.unitPrice, item.currency),
    }),
    discount: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Discount on this line.',
      resolve: (item) => money(item.discount, item.currency),
    }),
    total: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'quantity x unitPrice - discount; null while unknown.',
      resolve: (item) => money(item.total, item.currency),
    }),
    imageUrl: t.exposeString('imageUrl', { nullable: true, description: 'Product image.' }),
    productUrl: t.exposeString('productUrl', { nullable: true, description: 'Product page.' }),
  }),
});

const CheckoutEventRef = builder.objectRef<CheckoutEventRecord>('CheckoutEvent').implement({
  description: 'One status change of a checkout.',
  fields: (t) => ({
    status: t.field({ type: CheckoutStatusEnum, description: 'The status entered.', resolve: (event) => event.status }),
    at: t.field({ type: 'DateTime', description: 'When the change was recorded.', resolve: (event) => event.at }),
    source: t.exposeString('source', {
      description:
        'Who reported it: `api` for our own records (including expiry), the provider (its name in lower case), `merchant` (recordCheckoutOutcome) or `operator` (checkout:resolve).',
    }),
    notes: t.exposeString('notes', { nullable: true, description: 'Explanation, e.g. why a purchase failed.' }),
  }),
});

/** The GraphQL type of a provider's checkouts, from the provider registry. */
const typenameOf = (provider: ProviderName) => definitionOf(provider).typename;

/**
 * Reads a provider's stored `details` through its zod schema (once per row object): a row that
 * does not match fails loudly instead of answering with fields of the wrong type.
 */
export function detailsReader<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
): (row: CheckoutRecord) => z.output<S> {
  const parsed = new WeakMap<object, z.output<S>>();
  return (row) => {
    let details = parsed.get(row.details);
    if (details === undefined) {
      details = schema.parse(row.details);
      parsed.set(row.details, details);
    }
    return details;
  };
}

export const CheckoutInterface = builder.interfaceRef<CheckoutRecord>('Checkout').implement({
  description: 'A checkout at any provider. Query provider-specific fields with fragments on the implementations.',
  interfaces: [builder.nodeInterfaceRef()],
  resolveType: (row) => typenameOf(row.provider),
  fields: (t) => ({
    provider: t.field({
      type: CheckoutProviderEnum,
      description: 'The provider behind this checkout.',
      resolve: (row) => row.provider,
    }),
    providerCheckoutId: t.exposeString('providerCheckoutId', {
      nullable: true,
      description: "The provider's own id, when it gives one.",
    }),
    status: t.field({ type: CheckoutStatusEnum, description: 'Current status.', resolve: (row) => row.status }),
    total: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Amount to pay or paid; null while unknown.',
      resolve: (row) => money(row.totalAmount, row.currency),
    }),
    lineItems: t.loadableGroup({
      type: LineItemRef,
      description: 'What is bought, in order.',
      load: (ids: string[], ctx) => ctx.reads.lineItemsOf(ctx.tenant, ids),
      group: (item) => item.checkoutId,
      resolve: (row) => row.id,
    }),
    merchant: t.field({
      type: MerchantNode,
      nullable: true,
      description: 'The store, when known.',
      resolve: (row) => row.merchantId,
    }),
    checkoutUrl: t.exposeString('checkoutUrl', {
      nullable: true,
      description: 'Where to send the shopper to pay, when the provider gives a page.',
    }),
    testMode: t.exposeBoolean('testMode', {
      description: 'True for sandbox or provider test mode: no real money moves.',
    }),
    notes: t.exposeString('notes', {
      nullable: true,
      description: "The provider's or our explanation of the current status.",
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the checkout was recorded.',
      resolve: (row) => row.createdAt,
    }),
    updatedAt: t.field({ type: 'DateTime', description: 'When it last changed.', resolve: (row) => row.updatedAt }),
    events: t.loadableGroup({
      type: CheckoutEventRef,
      description: 'Status history, oldest first.',
      load: (ids: string[], ctx) => ctx.reads.eventsOf(ctx.tenant, ids),
      group: (event) => event.checkoutId,
      resolve: (row) => row.id,
    }),
  }),
});

type CheckoutNodeRef = ReturnType<typeof defineCheckoutNode>;
const nodesByTypename = new Map<string, CheckoutNodeRef>();

/**
 * Declares one provider's Checkout implementation: a Relay node and a federation entity keyed
 * by `id`, loaded in batches through a DataLoader scoped to the caller's tenant.
 */
export function defineCheckoutNode(provider: ProviderName) {
  const typename = typenameOf(provider);
  const ref = builder.loadableNodeRef(typename, {
    id: { resolve: (row: CheckoutRecord) => row.id },
    load: async (ids: string[], ctx) =>
      (await ctx.reads.rows(ctx.tenant, ids)).filter((row) => row.provider === provider),
    sort: (row) => row.id,
  });
  builder.asEntity(ref, {
    key: builder.selection<{ id: string }>('id'),
    // Only ids of this very type: a mismatched representation must not reach graphql-js, whose
    // "Expected value of type" error would print the whole row.
    resolveReference: (reference, ctx) =>
      loadByGlobalId(reference.id, typename, (id) => ref.getDataloader(ctx).load(id)),
  });
  nodesByTypename.set(typename, ref);
  return ref;
}

/** `isTypeOf` of a provider's Checkout implementation. */
export function isCheckoutOf(provider: ProviderName) {
  // Merchant rows carry a `provider` too; `status` tells a checkout row apart.
  return (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    'status' in value &&
    (value as Partial<CheckoutRecord>).provider === provider;
}

/** Loads a checkout of the caller's tenant by global id; null for unknown, foreign or malformed ids. */
export async function loadCheckout(
  globalId: string,
  ctx: Parameters<CheckoutNodeRef['getDataloader']>[0],
): Promise<CheckoutRecord | null> {
  const decoded = decodeGlobalIdSafely(globalId);
  const ref = decoded && nodesByTypename.get(decoded.typename);
  return ref && decoded ? ref.getDataloader(ctx).load(decoded.id) : null;
}

/**
 * Like `loadCheckout`, but read from the database, not the read model: for mutations, whose
 * decision must rest on the stored state even if a write elsewhere has not been announced here yet.
 */
export async function loadCheckoutFresh(globalId: string, ctx: Context): Promise<CheckoutRecord | null> {
  const decoded = decodeGlobalIdSafely(globalId);
  if (!decoded || !nodesByTypename.has(decoded.typename)) return null;
  const row = await ctx.queries.findFresh(ctx.tenant, decoded.id);
  return row && typenameOf(row.provider) === decoded.typename ? row : null;
}

/** Loads a checkout of the caller's tenant by row id through its provider's loader; null when unknown or foreign. */
export function loadCheckoutByRowId(
  provider: ProviderName,
  id: string | null,
  ctx: Parameters<CheckoutNodeRef['getDataloader']>[0],
): Promise<CheckoutRecord | null> | null {
  const ref = nodesByTypename.get(typenameOf(provider));
  return id && ref ? ref.getDataloader(ctx).load(id) : null;
}

const CheckoutFilter = builder.inputType('CheckoutFilter', {
  description: 'Narrows the checkouts listed.',
  fields: (t) => ({
    provider: t.field({ type: CheckoutProviderEnum, description: "Only this provider's checkouts." }),
    status: t.field({ type: [CheckoutStatusEnum], description: 'Only checkouts in one of these statuses.' }),
  }),
});

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

builder.queryFields((t) => ({
  checkout: t.field({
    type: CheckoutInterface,
    nullable: true,
    description: 'One of your checkouts by id; null when it does not exist or is not yours.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the checkout.' }) },
    resolve: (_root, args, ctx) => loadCheckout(String(args.id), ctx),
  }),
  checkouts: t.connection(
    {
      type: CheckoutInterface,
      description: `Your checkouts, newest first. Pages hold ${DEFAULT_PAGE_SIZE} by default and at most ${MAX_PAGE_SIZE}.`,
      args: { filter: t.arg({ type: CheckoutFilter, description: 'Narrows the list.' }) },
      resolve: (_root, args, ctx) =>
        resolveCursorConnection(
          {
            args,
            toCursor: (row: CheckoutRecord) => checkoutCursor.of(row.seq),
            defaultSize: DEFAULT_PAGE_SIZE,
            maxSize: MAX_PAGE_SIZE,
          },
          async ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => {
            // The page's ids in one statement; the checkouts from the read model, in page order.
            const ids = await ctx.queries.pageIds(
              ctx.tenant,
              { provider: args.filter?.provider, statuses: args.filter?.status },
              { afterSeq: checkoutCursor.parse(after), beforeSeq: checkoutCursor.parse(before), limit, inverted },
            );
            const rows = new Map((await ctx.reads.rows(ctx.tenant, ids)).map((row) => [row.id, row]));
            return ids.flatMap((id) => rows.get(id) ?? []);
          },
        ),
    },
    { name: 'CheckoutConnection', description: 'A page of checkouts.' },
    { name: 'CheckoutEdge', description: 'One checkout in a page, with its cursor.' },
  ),
}));

builder.mutationFields((t) => ({
  refreshCheckout: t.field({
    type: CheckoutInterface,
    description:
      "Asks the provider for the checkout's current status now and records any change. Checkouts of providers without a status endpoint are returned as stored.",
    args: { id: t.arg.id({ required: true, description: 'Global id of the checkout.' }) },
    errors: {
      types: [NotFoundError, ProviderError],
      result: { name: 'RefreshCheckoutSuccess', description: 'The checkout after the refresh.' },
      union: {
        name: 'RefreshCheckoutResult',
        description: 'The refreshed checkout, or why it could not be refreshed.',
      },
      dataField: { name: 'checkout', description: 'The checkout after the refresh.' },
    },
    resolve: async (_root, args, ctx) => {
      const globalId = String(args.id);
      const row = await loadCheckoutFresh(globalId, ctx);
      if (!row) throw new NotFoundError(globalId);
      return ctx.checkouts.refresh(row, { requestId: ctx.requestId });
    },
  }),
}));

builder.objectField(ProviderError, 'checkout', (t) =>
  t.field({
    type: CheckoutInterface,
    nullable: true,
    description:
      'The checkout a failed create left behind: FAILED when the provider did nothing, UNKNOWN when it may have acted (watch it, or have an operator resolve it). Null for failures of other operations, and for a create refused before anything was recorded (an open circuit breaker).',
    resolve: (error, _args, ctx) => loadCheckoutByRowId(error.provider, error.checkoutId, ctx),
  }),
);
