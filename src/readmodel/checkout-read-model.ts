import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { CheckoutAggregate, LineItemWithCurrency } from '../db/repository.js';
import type { CheckoutEventRow, CheckoutRow, LineItemRow, MerchantRow } from '../db/schema.js';

/** Where the read model loads what it does not hold (the repository). */
export interface AggregateSource {
  /** Checkouts among `ids` with line items and events, any tenant, in one statement. */
  aggregatesByIds(ids: readonly string[]): Promise<CheckoutAggregate[]>;
  /** The tenant's merchants among `ids`. */
  merchantsByIds(tenant: string, ids: readonly string[]): Promise<MerchantRow[]>;
}

/** What a write stored of one checkout: its row, every line item and every event. */
export interface StoredCheckout {
  row: CheckoutRow;
  lineItems: LineItemRow[];
  events: CheckoutEventRow[];
}

/** What the read model counts (the metrics on /metrics). */
export interface ReadModelCounters {
  lookup(outcome: 'hit' | 'miss', count: number): void;
  evicted(reason: 'write' | 'capacity' | 'bus_outage', count: number): void;
}

/** How big the read model may grow. */
export interface ReadModelOptions {
  /** Checkouts held at most (merchants: a tenth of it, at least 100). 0 turns the model off: every read loads. */
  maxEntries: number;
  /**
   * How long an entry may be served, when set: for a database other processes write without
   * announcing it (PostgreSQL without Redis: `checkout:resolve`), so such a write shows within it.
   */
  ttlMs?: number;
  counters?: ReadModelCounters;
}

/**
 * What an id maps to: what was loaded or written, or the mark that it was written since. A write's
 * slot carries its sequence number (`writtenAt`) and, when known, the `updatedAt` it wrote: a write
 * stores its result only over an older one.
 */
type Slot<T> = { value: T; writtenAt?: number; updatedAt?: number } | { writtenAt: number; updatedAt?: number };

/** Checkouts loaded by one statement at most (a resync tick of thousands of streams is split into several). */
const AGGREGATES_PER_STATEMENT = 500;

/**
 * Checkout aggregates and merchants in memory, per process, bounded by an LRU. Every read checks
 * the tenant. A write (here or, through the bus, on another instance) evicts the checkout and its
 * merchant at once; the next read loads them again in one statement.
 *
 * A load that overlaps a write must not put back what it read before the write: each id written
 * keeps a mark with the write's sequence number (the `writtenAt` slot), and a load stores its
 * result only if no write of that id, and no forgotten mark, is newer than the load's start.
 */
export class CheckoutReadModel {
  private sequence = 0;
  /** The newest write whose mark is gone (dropped for capacity, or everything after an outage). */
  private forgottenWritesUpTo = 0;
  private readonly checkouts: LRUCache<string, Slot<CheckoutAggregate>> | undefined;
  private readonly merchants: LRUCache<string, Slot<MerchantRow>> | undefined;
  /** While the bus is down, writes of other instances go unheard: nothing is served or kept. */
  private bypass = false;
  /**
   * Every load of checkouts started in one turn of the event loop, as one statement: a resync tick
   * wakes every open status stream at once, and a thousand streams re-reading one checkout each
   * built and sent a thousand statements in one turn (285 ms of the event loop, bench/README.md).
   */
  private readonly aggregateLoader: DataLoader<string, CheckoutAggregate | undefined>;

  constructor(
    private readonly source: AggregateSource,
    private readonly options: ReadModelOptions,
  ) {
    this.aggregateLoader = new DataLoader(
      async (ids) => {
        const found = new Map((await source.aggregatesByIds(ids)).map((aggregate) => [aggregate.row.id, aggregate]));
        return ids.map((id) => found.get(id));
      },
      { cache: false, maxBatchSize: AGGREGATES_PER_STATEMENT },
    );
    if (options.maxEntries <= 0) return;
    this.checkouts = this.cache(options.maxEntries);
    this.merchants = this.cache(Math.max(100, Math.ceil(options.maxEntries / 10)));
  }

  /** The tenant's checkouts among `ids` (unknown and foreign ids are absent), loading what is not held. */
  async aggregates(tenant: string, ids: readonly string[]): Promise<CheckoutAggregate[]> {
    const found = await this.read(
      this.checkouts,
      ids,
      (missing) => this.loadAggregates(missing),
      (a) => a.row.id,
      (a) => a.row.updatedAt?.getTime(),
    );
    return found.filter((aggregate) => aggregate.row.tenant === tenant);
  }

  /** The tenant's checkouts among `ids`, rows only. */
  async rows(tenant: string, ids: readonly string[]): Promise<CheckoutRow[]> {
    return (await this.aggregates(tenant, ids)).map((aggregate) => aggregate.row);
  }

  /** Line items of the tenant's checkouts among `ids`, each checkout's in position order. */
  async lineItemsOf(tenant: string, ids: readonly string[]): Promise<LineItemWithCurrency[]> {
    return (await this.aggregates(tenant, ids)).flatMap((aggregate) => aggregate.lineItems);
  }

  /** Events of the tenant's checkouts among `ids`, each checkout's oldest first. */
  async eventsOf(tenant: string, ids: readonly string[]): Promise<CheckoutEventRow[]> {
    return (await this.aggregates(tenant, ids)).flatMap((aggregate) => aggregate.events);
  }

  /** The tenant's merchants among `ids`. */
  async merchantsOf(tenant: string, ids: readonly string[]): Promise<MerchantRow[]> {
    const found = await this.read(
      this.merchants,
      ids,
      (missing) => this.source.merchantsByIds(tenant, missing),
      (merchant) => merchant.id,
      (merchant) => merchant.updatedAt?.getTime(),
    );
    return found.filter((merchant) => merchant.tenant === tenant);
  }

  /**
   * A checkout (and the merchant it names) was written: drop both, and keep racing loads from
   * restoring them. `updatedAt`, when known (a write of this process), orders it with other writes.
   */
  written(checkoutId: string, merchantId: string | null, updatedAt?: Date): void {
    const writtenAt = ++this.sequence;
    this.mark(this.checkouts, checkoutId, writtenAt, updatedAt?.getTime());
    if (merchantId) this.mark(this.merchants, merchantId, writtenAt);
  }

  /**
   * A write of this process stored `written` (and `merchant`, when it changed it): held as the
   * checkout's value, so the mutation's answer and the next reads need no statement. A slot that
   * is newer or cannot be ordered (another instance's write, known only by its announcement) wins:
   * the checkout is then only evicted.
   */
  stored(written: StoredCheckout, merchant: MerchantRow | null): void {
    const writtenAt = ++this.sequence;
    const { row } = written;
    const aggregate: CheckoutAggregate = {
      row,
      lineItems: written.lineItems.map((item) => ({ ...item, currency: row.currency })),
      events: written.events,
    };
    this.put(this.checkouts, row.id, aggregate, writtenAt, row.updatedAt.getTime());
    if (merchant) this.put(this.merchants, merchant.id, merchant, writtenAt, merchant.updatedAt.getTime());
  }

  /** `ids` from the database, batched with every other load of the same turn; unknown ids are absent. */
  private async loadAggregates(ids: readonly string[]): Promise<CheckoutAggregate[]> {
    const loaded = await this.aggregateLoader.loadMany(ids);
    const failed = loaded.find((result) => result instanceof Error);
    if (failed) throw failed;
    return loaded.filter((result): result is CheckoutAggregate => result !== undefined);
  }

  /** The bus broke: another instance's writes may go unheard, so drop everything and hold nothing until it is back. */
  busDown(): void {
    this.bypass = true;
    this.forget();
  }

  /** The bus is back: start afresh (a write may have been missed while it was down). */
  busUp(): void {
    this.forget();
    this.bypass = false;
  }

  /** Drops everything held (operators and tests measuring cold reads). */
  clear(): void {
    this.forget();
  }

  /** Checkouts held now (for tests and the size gauge). */
  get size(): number {
    let held = 0;
    for (const slot of this.checkouts?.values() ?? []) if ('value' in slot) held += 1;
    return held;
  }

  private cache<T>(max: number): LRUCache<string, Slot<T>> {
    return new LRUCache<string, Slot<T>>({
      max,
      ...(this.options.ttlMs ? { ttl: this.options.ttlMs, ttlAutopurge: false } : {}),
      dispose: (slot, _key, reason) => {
        // A mark that expires is forgotten like one dropped for capacity.
        if (reason !== 'evict' && reason !== 'expire') return;
        if (slot.writtenAt !== undefined) this.forgottenWritesUpTo = Math.max(this.forgottenWritesUpTo, slot.writtenAt);
        if ('value' in slot) this.options.counters?.evicted('capacity', 1);
      },
    });
  }

  private forget(): void {
    const held = this.size;
    this.forgottenWritesUpTo = ++this.sequence;
    this.checkouts?.clear();
    this.merchants?.clear();
    if (held > 0) this.options.counters?.evicted('bus_outage', held);
  }

  private mark<T>(
    cache: LRUCache<string, Slot<T>> | undefined,
    id: string,
    writtenAt: number,
    updatedAt?: number,
  ): void {
    if (!cache) return;
    const had = cache.peek(id);
    cache.set(id, { writtenAt, updatedAt });
    if (had && 'value' in had) this.options.counters?.evicted('write', 1);
  }

  private put<T>(
    cache: LRUCache<string, Slot<T>> | undefined,
    id: string,
    value: T,
    writtenAt: number,
    updatedAt: number,
  ): void {
    if (!cache) return;
    const had = cache.peek(id);
    // What is held stays when it is newer, or when it is a mark that cannot be ordered with this
    // write (its loads are already kept out, and the next read loads the latest).
    const older = !had || (had.updatedAt !== undefined && had.updatedAt < updatedAt);
    if (this.bypass || !older) return;
    cache.set(id, { value, writtenAt, updatedAt });
  }

  /** What `cache` holds of `ids`, plus one load of the rest, stored unless a write overtook it. */
  private async read<T>(
    cache: LRUCache<string, Slot<T>> | undefined,
    ids: readonly string[],
    load: (missing: string[]) => Promise<T[]>,
    idOf: (value: T) => string,
    versionOf: (value: T) => number | undefined,
  ): Promise<T[]> {
    if (!cache || this.bypass) return ids.length === 0 ? [] : load([...ids]);
    const held: T[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const slot = cache.get(id);
      if (slot && 'value' in slot) held.push(slot.value);
      else missing.push(id);
    }
    if (held.length) this.options.counters?.lookup('hit', held.length);
    if (missing.length === 0) return held;
    this.options.counters?.lookup('miss', missing.length);
    const startedAt = this.sequence;
    const loaded = await load(missing);
    if (!this.bypass && this.forgottenWritesUpTo <= startedAt) {
      for (const value of loaded) {
        const id = idOf(value);
        const slot = cache.peek(id);
        if (slot?.writtenAt !== undefined && slot.writtenAt > startedAt) continue;
        cache.set(id, { value, updatedAt: versionOf(value) });
      }
    }
    return held.concat(loaded);
  }
}
