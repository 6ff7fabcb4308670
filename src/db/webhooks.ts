import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { WebhookDeliveryPageRequest, WebhookEndpointChanges, WebhookEndpointStore } from '../domain/ports.js';
import type { Database } from './client.js';
import { isRowId } from '../domain/ids.js';
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
} from './schema.js';

/** Delivery states (the GraphQL `WebhookDeliveryStatus`). */
export type WebhookDeliveryStatus = WebhookDeliveryRow['status'];

/** A delivery with the type of its event. */
export type DeliveryWithType = WebhookDeliveryRow & { eventType: string };

/** A delivery claimed by a dispatcher, with what its attempt needs. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  attemptCount: number;
  url: string;
  endpointId: string;
  /** The current secret, then the previous one while it is still valid. */
  secrets: string[];
  /** The stored event body, sent as is. */
  body: string;
}

/** What one attempt found out. */
export interface AttemptOutcome {
  owner: string;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  /** The delivery's state after it, and when to try again when PENDING. */
  status: WebhookDeliveryStatus;
  retryInMs: number;
  /** An endpoint failing at least this long is disabled by a failure. */
  disableAfterMs: number;
}

/** Every SQL statement about webhook endpoints, events, deliveries and attempts. Tenant-scoped reads. */
export class WebhookRepository implements WebhookEndpointStore {
  constructor(private readonly db: Database) {}

  async createEndpoint(values: {
    tenant: string;
    url: string;
    description: string | null;
    events: string[];
    secret: string;
  }) {
    const [row] = await this.db.insert(webhookEndpoints).values(values).returning();
    return row!;
  }

  async countEndpoints(tenant: string): Promise<number> {
    const [row] = await this.db
      .select({ count: sql<number>`count(*)::int` })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenant, tenant));
    return Number(row?.count ?? 0);
  }

  /** The tenant's endpoints, oldest first. */
  async endpoints(tenant: string): Promise<WebhookEndpointRow[]> {
    return this.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenant, tenant))
      .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
  }

  /** The tenant's endpoints among `ids`; foreign and unknown ids are absent. */
  async endpointsByIds(tenant: string, ids: readonly string[]): Promise<WebhookEndpointRow[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    return this.db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenant, tenant), inArray(webhookEndpoints.id, rowIds)));
  }

  /** Changes the tenant's endpoint; undefined when it is not theirs. Re-enabling clears the failure record. */
  async updateEndpoint(tenant: string, id: string, changes: WebhookEndpointChanges) {
    if (!isRowId(id)) return undefined;
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({
        ...changes,
        ...(changes.enabled === true && { disabledReason: null, failingSince: null }),
        ...(changes.enabled === false && { disabledReason: 'disabled by its owner' }),
        updatedAt: new Date(),
      })
      .where(and(eq(webhookEndpoints.tenant, tenant), eq(webhookEndpoints.id, id)))
      .returning();
    return row;
  }

  /** Deletes the tenant's endpoint with its deliveries and their attempts; false when it is not theirs. */
  async deleteEndpoint(tenant: string, id: string): Promise<boolean> {
    if (!isRowId(id)) return false;
    const deleted = await this.db
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenant, tenant), eq(webhookEndpoints.id, id)))
      .returning({ id: webhookEndpoints.id });
    return deleted.length > 0;
  }

  /** Replaces the secret; the old one stays valid (and signs too) for `overlapMs`. */
  async rotateSecret(tenant: string, id: string, secret: string, overlapMs: number) {
    if (!isRowId(id)) return undefined;
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({
        previousSecret: sql`${webhookEndpoints.secret}`,
        previousSecretExpiresAt: sql`now() + ${overlapMs} * interval '1 millisecond'`,
        secret,
        updatedAt: new Date(),
      })
      .where(and(eq(webhookEndpoints.tenant, tenant), eq(webhookEndpoints.id, id)))
      .returning();
    return row;
  }

  /** One page of an endpoint's deliveries, newest first (oldest first when `inverted`). */
  async deliveriesPage(endpointId: string, request: WebhookDeliveryPageRequest): Promise<DeliveryWithType[]> {
    const conditions: SQL[] = [eq(webhookDeliveries.endpointId, endpointId)];
    if (request.statuses?.length) conditions.push(inArray(webhookDeliveries.status, request.statuses));
    if (request.afterSeq !== undefined) conditions.push(lt(webhookDeliveries.seq, request.afterSeq));
    if (request.beforeSeq !== undefined) conditions.push(sql`${webhookDeliveries.seq} > ${request.beforeSeq}`);
    const rows = await this.deliveriesWithType()
      .where(and(...conditions))
      .orderBy(request.inverted ? asc(webhookDeliveries.seq) : desc(webhookDeliveries.seq))
      .limit(request.limit);
    return rows.map(({ delivery, eventType }) => ({ ...delivery, eventType }));
  }

  /** The tenant's deliveries among `ids`, each with its event type. */
  async deliveriesByIds(tenant: string, ids: readonly string[]): Promise<DeliveryWithType[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    const rows = await this.deliveriesWithType().where(
      and(eq(webhookDeliveries.tenant, tenant), inArray(webhookDeliveries.id, rowIds)),
    );
    return rows.map(({ delivery, eventType }) => ({ ...delivery, eventType }));
  }

  private deliveriesWithType() {
    return this.db
      .select({ delivery: webhookDeliveries, eventType: webhookEvents.type })
      .from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .$dynamic();
  }

  /** Attempts of many deliveries, oldest first. */
  async attemptsOf(deliveryIds: readonly string[]): Promise<WebhookAttemptRow[]> {
    if (deliveryIds.length === 0) return [];
    return this.db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, [...deliveryIds]))
      .orderBy(asc(webhookAttempts.startedAt), asc(webhookAttempts.id));
  }

  /**
   * Makes the tenant's delivery due now for one more attempt, whatever its state (a FAILED one is
   * PENDING again); undefined when it is not theirs.
   */
  async redeliver(tenant: string, id: string) {
    if (!isRowId(id)) return undefined;
    const [row] = await this.db
      .update(webhookDeliveries)
      .set({ status: 'PENDING', nextAttemptAt: sql`now()` })
      .where(and(eq(webhookDeliveries.tenant, tenant), eq(webhookDeliveries.id, id)))
      .returning();
    return row;
  }

  /**
   * Claims up to `limit` due deliveries for `owner` until the lease expires. Skipped: rows another
   * instance holds, deliveries of disabled endpoints, and any delivery with an earlier unfinished
   * one of the same checkout to the same endpoint (per-checkout order).
   */
  async claimDue(owner: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const result = await this.db.execute(sql`
      update ${webhookDeliveries} set lease_owner = ${owner},
        lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
      where id in (
        select d.id from ${webhookDeliveries} d
        join ${webhookEndpoints} e on e.id = d.endpoint_id
        where d.status = 'PENDING' and d.next_attempt_at <= now()
          and (d.lease_expires_at is null or d.lease_expires_at < now()) and e.enabled
          and not exists (
            select 1 from ${webhookDeliveries} earlier
            where earlier.endpoint_id = d.endpoint_id and earlier.checkout_id = d.checkout_id
              and earlier.seq < d.seq and earlier.status = 'PENDING')
        order by d.next_attempt_at
        limit ${limit}
        for update of d skip locked
      )
      returning id`);
    const ids = (result as unknown as { rows: { id: string }[] }).rows.map((row) => row.id);
    if (ids.length === 0) return [];
    const rows = await this.db
      .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints, payload: webhookEvents.payload })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(inArray(webhookDeliveries.id, ids));
    const now = Date.now();
    return rows.map(({ delivery, endpoint, payload }) => ({
      id: delivery.id,
      eventId: delivery.eventId,
      attemptCount: delivery.attemptCount,
      url: endpoint.url,
      endpointId: endpoint.id,
      secrets: [
        endpoint.secret,
        ...(endpoint.previousSecret && (endpoint.previousSecretExpiresAt?.getTime() ?? 0) > now
          ? [endpoint.previousSecret]
          : []),
      ],
      body: JSON.stringify(payload),
    }));
  }

  /**
   * Records one attempt in one transaction: the attempt row, the delivery's new state (if `owner`
   * still holds it) and the endpoint's failure record, disabling an endpoint failing too long.
   * Resolves to true when the endpoint was disabled by this attempt.
   */
  async recordAttempt(delivery: ClaimedDelivery, outcome: AttemptOutcome): Promise<boolean> {
    const succeeded = outcome.status === 'SUCCEEDED';
    return this.db.transaction(async (tx) => {
      await tx.insert(webhookAttempts).values({
        deliveryId: delivery.id,
        startedAt: outcome.startedAt,
        durationMs: outcome.durationMs,
        responseStatus: outcome.responseStatus,
        responseBody: outcome.responseBody,
        error: outcome.error,
      });
      await tx
        .update(webhookDeliveries)
        .set({
          status: outcome.status,
          attemptCount: sql`${webhookDeliveries.attemptCount} + 1`,
          nextAttemptAt: sql`now() + ${outcome.retryInMs} * interval '1 millisecond'`,
          leaseOwner: null,
          leaseExpiresAt: null,
          lastResponseStatus: outcome.responseStatus,
          lastError: outcome.error,
          ...(succeeded && { deliveredAt: sql`now()` }),
        })
        .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.leaseOwner, outcome.owner)));
      if (succeeded) {
        await tx
          .update(webhookEndpoints)
          .set({ failingSince: null })
          .where(eq(webhookEndpoints.id, delivery.endpointId));
        return false;
      }
      const [endpoint] = await tx
        .update(webhookEndpoints)
        .set({
          failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${outcome.startedAt.toISOString()}::timestamptz)`,
        })
        .where(eq(webhookEndpoints.id, delivery.endpointId))
        .returning({ failingSince: webhookEndpoints.failingSince, enabled: webhookEndpoints.enabled });
      const failingFor = endpoint?.failingSince ? Date.now() - endpoint.failingSince.getTime() : 0;
      if (!endpoint?.enabled || failingFor < outcome.disableAfterMs) return false;
      await tx
        .update(webhookEndpoints)
        .set({
          enabled: false,
          disabledReason: `every attempt failed for ${Math.round(failingFor / 60_000)} minutes (last: ${outcome.error ?? `HTTP ${outcome.responseStatus}`})`,
          updatedAt: new Date(),
        })
        .where(eq(webhookEndpoints.id, delivery.endpointId));
      return true;
    });
  }

  /** Gives up `owner`'s leases (on shutdown), so another instance may send those deliveries at once. */
  async releaseLeases(owner: string): Promise<number> {
    const released = await this.db
      .update(webhookDeliveries)
      .set({ leaseOwner: null, leaseExpiresAt: null })
      .where(eq(webhookDeliveries.leaseOwner, owner))
      .returning({ id: webhookDeliveries.id });
    return released.length;
  }

  /** Deliveries waiting for an attempt (PENDING, of enabled endpoints): the backlog gauge. */
  async backlog(): Promise<number> {
    const [row] = await this.db
      .select({ count: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(and(eq(webhookDeliveries.status, 'PENDING'), eq(webhookEndpoints.enabled, true)));
    return Number(row?.count ?? 0);
  }
}
