import type { CheckoutStatus, ProviderName } from './checkout.js';
import type { CheckoutRecord } from './records.js';

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

/** The reads the read model does not answer, as the store implements them (`db/` does). */
export interface CheckoutFinder {
  /** The ids of one page of the tenant's checkouts, newest first (oldest first when `inverted`). */
  pageIds(tenant: string, filter: CheckoutListFilter, request: CheckoutPageRequest): Promise<string[]>;
  /** The tenant's checkouts among `ids`, in no particular order; foreign and unknown ids are absent. */
  findByIds(tenant: string, ids: readonly string[]): Promise<CheckoutRecord[]>;
}

/**
 * The reads resolvers make of the store itself rather than of the read model: which ids a page
 * holds (the read model holds checkouts, not orders of them), and a checkout as stored right now
 * (a mutation's decision must rest on the stored state, even before a write elsewhere is announced).
 */
export class CheckoutQueries {
  constructor(private readonly finder: CheckoutFinder) {}

  /** The ids of one page of the tenant's checkouts, in page order. */
  pageIds(tenant: string, filter: CheckoutListFilter, request: CheckoutPageRequest): Promise<string[]> {
    return this.finder.pageIds(tenant, filter, request);
  }

  /** The tenant's checkout `id` as stored now; undefined when unknown or another tenant's. */
  async findFresh(tenant: string, id: string): Promise<CheckoutRecord | undefined> {
    const [row] = await this.finder.findByIds(tenant, [id]);
    return row;
  }
}
