import { and, asc, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { CheckoutStatus, ProviderName } from '../domain/checkout.js';
import type { LineItemInfo, MerchantInfo, ProviderSnapshot } from '../providers/types.js';
import type { Database } from './client.js';
import {
  checkoutEvents,
  checkouts,
  lineItems,
  merchants,
  type CheckoutEventRow,
  type CheckoutRow,
  type LineItemRow,
  type MerchantRow,
} from './schema.js';

/** What is known about a checkout before its provider is called. */
export interface NewCheckout {
  tenant: string;
  provider: ProviderName;
  testMode: boolean;
  currency?: string | null;
  details: Record<string, unknown>;
  lineItems?: LineItemInfo[];
  idempotencyKey?: string | null;
  requestHash?: string | null;
}

/** A line item with the currency of its checkout. */
export type LineItemWithCurrency = LineItemRow & { currency: string | null };

/** Filter of the `checkouts` connection. */
export interface CheckoutListFilter {
  provider?: ProviderName | null;
  statuses?: CheckoutStatus[] | null;
}

/** One page request in list order (newest first); `inverted` walks it backwards. */
export interface CheckoutPageRequest {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
  inverted: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be a row id; anything else is simply not found, without a round trip. */
export function isRowId(id: string): boolean {
  return UUID.test(id);
}

/** Every SQL statement about checkouts, merchants, line items and events. Tenant-scoped reads. */
export class CheckoutRepository {
  constructor(private readonly db: Database) {}

  /** Writes the PENDING checkout, its known line items and its first event in one transaction. */
  async createPending(input: NewCheckout): Promise<CheckoutRow> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(checkouts)
        .values({
          tenant: input.tenant,
          provider: input.provider,
          status: 'PENDING',
          testMode: input.testMode,
          currency: input.currency ?? null,
          details: input.details,
          idempotencyKey: input.idempotencyKey ?? null,
          requestHash: input.requestHash ?? null,
        })
        .returning();
      if (input.lineItems?.length) {
        await tx.insert(lineItems).values(input.lineItems.map((item, position) => lineItemValues(row!.id, position, item)));
      }
      await tx.insert(checkoutEvents).values({ checkoutId: row!.id, status: 'PENDING', source: 'api', at: row!.createdAt });
      return row!;
    });
  }

  /**
   * Applies what a provider said: upserts the merchant, updates the checkout, replaces line items
   * when given, and appends an event when the status changed, all in one transaction. The row is
   * locked first so two concurrent refreshes cannot both record the same change.
   */
  async applySnapshot(checkoutId: string, snapshot: ProviderSnapshot, source: string): Promise<CheckoutRow> {
    return this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(checkouts).where(eq(checkouts.id, checkoutId)).for('update');
      if (!current) throw new Error(`checkout ${checkoutId} vanished while being updated`);
      let merchantId = current.merchantId;
      if (snapshot.merchant) {
        merchantId = await upsertMerchant(tx, current.tenant, current.provider, snapshot.merchant);
      }
      const now = new Date();
      const [updated] = await tx
        .update(checkouts)
        .set({
          status: snapshot.status,
          updatedAt: now,
          merchantId,
          ...(snapshot.providerCheckoutId !== undefined && { providerCheckoutId: snapshot.providerCheckoutId }),
          ...(snapshot.currency !== undefined && { currency: snapshot.currency }),
          ...(snapshot.total !== undefined && { totalAmount: snapshot.total }),
          ...(snapshot.notes !== undefined && { notes: snapshot.notes }),
          ...(snapshot.checkoutUrl !== undefined && { checkoutUrl: snapshot.checkoutUrl }),
          ...(snapshot.testMode !== undefined && { testMode: snapshot.testMode }),
          ...(snapshot.details && { details: sql`${checkouts.details} || ${JSON.stringify(snapshot.details)}::jsonb` }),
        })
        .where(eq(checkouts.id, checkoutId))
        .returning();
      if (snapshot.lineItems) {
        await tx.delete(lineItems).where(eq(lineItems.checkoutId, checkoutId));
        if (snapshot.lineItems.length) {
          await tx.insert(lineItems).values(snapshot.lineItems.map((item, position) => lineItemValues(checkoutId, position, item)));
        }
      }
      if (current.status !== snapshot.status) {
        await tx.insert(checkoutEvents).values({ checkoutId, status: snapshot.status, source, notes: snapshot.notes ?? null, at: now });
      }
      return updated!;
    });
  }

  /** The tenant's checkouts among `ids`, in no particular order; foreign and unknown ids are absent. */
  async findByIds(tenant: string, ids: readonly string[]): Promise<CheckoutRow[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    return this.db.select().from(checkouts).where(and(eq(checkouts.tenant, tenant), inArray(checkouts.id, rowIds)));
  }

  /** One page of the tenant's checkouts, newest first (oldest first when `inverted`). */
  async page(tenant: string, filter: CheckoutListFilter, request: CheckoutPageRequest): Promise<CheckoutRow[]> {
    const conditions: SQL[] = [eq(checkouts.tenant, tenant)];
    if (filter.provider) conditions.push(eq(checkouts.provider, filter.provider));
    if (filter.statuses?.length) conditions.push(inArray(checkouts.status, filter.statuses));
    if (request.afterSeq !== undefined) conditions.push(lt(checkouts.seq, request.afterSeq));
    if (request.beforeSeq !== undefined) conditions.push(gt(checkouts.seq, request.beforeSeq));
    return this.db
      .select()
      .from(checkouts)
      .where(and(...conditions))
      .orderBy(request.inverted ? asc(checkouts.seq) : desc(checkouts.seq))
      .limit(request.limit);
  }

  /**
   * Line items of many checkouts in one statement, in position order, each with its checkout's
   * currency (amounts mean nothing without it).
   */
  async lineItemsOf(checkoutIds: readonly string[]): Promise<LineItemWithCurrency[]> {
    if (checkoutIds.length === 0) return [];
    const rows = await this.db
      .select({ item: lineItems, currency: checkouts.currency })
      .from(lineItems)
      .innerJoin(checkouts, eq(checkouts.id, lineItems.checkoutId))
      .where(inArray(lineItems.checkoutId, [...checkoutIds]))
      .orderBy(asc(lineItems.checkoutId), asc(lineItems.position));
    return rows.map(({ item, currency }) => ({ ...item, currency }));
  }

  /** Status events of many checkouts in one statement, oldest first. */
  async eventsOf(checkoutIds: readonly string[]): Promise<CheckoutEventRow[]> {
    if (checkoutIds.length === 0) return [];
    return this.db
      .select()
      .from(checkoutEvents)
      .where(inArray(checkoutEvents.checkoutId, [...checkoutIds]))
      .orderBy(asc(checkoutEvents.id));
  }

  /** The tenant's merchants among `ids` in one statement. */
  async merchantsByIds(tenant: string, ids: readonly string[]): Promise<MerchantRow[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    return this.db.select().from(merchants).where(and(eq(merchants.tenant, tenant), inArray(merchants.id, rowIds)));
  }

  /** The tenant's checkout created with this idempotency key, if any. */
  async findByIdempotencyKey(tenant: string, key: string): Promise<CheckoutRow | undefined> {
    const [row] = await this.db
      .select()
      .from(checkouts)
      .where(and(eq(checkouts.tenant, tenant), eq(checkouts.idempotencyKey, key)));
    return row;
  }
}

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * Inserts the merchant or refreshes its row. A field the latest answer leaves out keeps its known
 * value: one sparse answer must not blank the merchant shown on every earlier checkout.
 */
async function upsertMerchant(tx: Transaction, tenant: string, provider: string, merchant: MerchantInfo): Promise<string> {
  const [row] = await tx
    .insert(merchants)
    .values({
      tenant,
      provider,
      key: merchant.key,
      name: merchant.name,
      website: merchant.website ?? null,
      privacyPolicyUrl: merchant.privacyPolicyUrl ?? null,
      generalTermsUrl: merchant.generalTermsUrl ?? null,
      logoUrl: merchant.logoUrl ?? null,
    })
    .onConflictDoUpdate({
      target: [merchants.tenant, merchants.provider, merchants.key],
      set: {
        name: sql`excluded.name`,
        website: sql`coalesce(excluded.website, ${merchants.website})`,
        privacyPolicyUrl: sql`coalesce(excluded.privacy_policy_url, ${merchants.privacyPolicyUrl})`,
        generalTermsUrl: sql`coalesce(excluded.general_terms_url, ${merchants.generalTermsUrl})`,
        logoUrl: sql`coalesce(excluded.logo_url, ${merchants.logoUrl})`,
        updatedAt: new Date(),
      },
    })
    .returning({ id: merchants.id });
  return row!.id;
}

function lineItemValues(checkoutId: string, position: number, item: LineItemInfo) {
  return {
    checkoutId,
    position,
    productId: item.productId ?? null,
    description: item.description ?? null,
    sku: item.sku ?? null,
    quantity: item.quantity,
    unitPrice: item.unitPrice ?? null,
    discount: item.discount ?? null,
    total: item.total ?? null,
    imageUrl: item.imageUrl ?? null,
    productUrl: item.productUrl ?? null,
  };
}
