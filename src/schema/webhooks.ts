import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord } from '../domain/ports.js';
import { notFound } from '../webhooks/endpoints.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhooks/events.js';
import {
  createWebhookEndpointSchema,
  updateWebhookEndpointSchema,
  type CreateWebhookEndpointArgs,
  type UpdateWebhookEndpointArgs,
} from '../webhooks/inputs.js';
import { CheckoutInterface } from './checkout.js';
import { decodeGlobalIdSafely } from './global-id.js';
import { sequenceCursor } from './sequence-cursor.js';

/*
 * Webhooks out: a tenant's endpoints, their delivery log, and the mutations that manage them.
 * Another tenant's endpoints and deliveries behave exactly like missing ones.
 */

/** The row id inside a global id of `typename`, or undefined when it is not one. */
function rowIdOf(globalId: string, typename: string): string | undefined {
  const decoded = decodeGlobalIdSafely(globalId);
  return decoded?.typename === typename ? decoded.id : undefined;
}

const EVENT_NAMES: Record<WebhookEventType, string> = { 'checkout.status_changed': 'CHECKOUT_STATUS_CHANGED' };

const WebhookEventTypeEnum = builder.enumType('WebhookEventType', {
  description: 'What an endpoint is told about.',
  values: Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => [
      EVENT_NAMES[type],
      { value: type, description: `\`${type}\`: every status change of a checkout, its creation included.` },
    ]),
  ) as Record<string, { value: WebhookEventType; description: string }>,
});

const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a delivery of one event to one endpoint is.',
  values: {
    PENDING: { value: 'PENDING', description: 'Waiting for its (next) attempt.' },
    SUCCEEDED: { value: 'SUCCEEDED', description: 'The endpoint answered 2xx.' },
    FAILED: {
      value: 'FAILED',
      description: 'Every attempt failed (WEBHOOK_MAX_ATTEMPTS); redeliverWebhook tries again.',
    },
  } as const,
});

const WebhookAttemptRef = builder.objectRef<WebhookAttemptRecord>('WebhookAttempt').implement({
  description: 'One HTTP attempt of a delivery.',
  fields: (t) => ({
    startedAt: t.field({ type: 'DateTime', description: 'When it started.', resolve: (row) => row.startedAt }),
    durationMs: t.exposeInt('durationMs', { description: 'How long it took, connect to last byte.' }),
    responseStatus: t.exposeInt('responseStatus', {
      nullable: true,
      description: "The endpoint's HTTP status; null when it did not answer.",
    }),
    responseBody: t.exposeString('responseBody', {
      nullable: true,
      description: 'The first 1 KB of the response body.',
    }),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why no answer came (timeout, refused connection, refused target).',
    }),
  }),
});

export const WebhookDeliveryNode = builder.loadableNode('WebhookDelivery', {
  description: 'One event for one endpoint, with its attempts.',
  id: { resolve: (row: WebhookDeliveryRecord) => row.id },
  load: (ids: string[], ctx) => ctx.webhooks.deliveriesByIds(ctx.tenant, ids),
  sort: (row) => row.id,
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'attemptCount' in value,
  fields: (t) => ({
    eventId: t.exposeString('eventId', { description: 'The `webhook-id` header: the same for every attempt.' }),
    eventType: t.field({
      type: WebhookEventTypeEnum,
      description: 'What the event tells.',
      resolve: (row) => row.eventType as WebhookEventType,
    }),
    status: t.field({ type: WebhookDeliveryStatusEnum, description: 'Where it is.', resolve: (row) => row.status }),
    attemptCount: t.exposeInt('attemptCount', { description: 'Attempts made so far.' }),
    lastResponseStatus: t.exposeInt('lastResponseStatus', {
      nullable: true,
      description: 'HTTP status of the last attempt.',
    }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt got no answer.' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next attempt is due; null once it SUCCEEDED or FAILED.',
      resolve: (row) => (row.status === 'PENDING' ? row.nextAttemptAt : null),
    }),
    deliveredAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When an attempt first succeeded.',
      resolve: (row) => row.deliveredAt,
    }),
    checkout: t.loadable({
      type: CheckoutInterface,
      nullable: true,
      description: 'The checkout the event is about (null once deleted).',
      load: (ids: string[], ctx) => ctx.reads.rows(ctx.tenant, ids),
      sort: (row) => row.id,
      resolve: (row) => row.checkoutId,
    }),
    attempts: t.loadableGroup({
      type: WebhookAttemptRef,
      description: 'Every attempt, oldest first.',
      load: (ids: string[], ctx) => ctx.webhooks.attemptsOf(ids),
      group: (attempt) => attempt.deliveryId,
      resolve: (row) => row.id,
    }),
  }),
});

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

export const WebhookEndpointNode = builder.loadableNode('WebhookEndpoint', {
  description: 'Where status changes of your checkouts are POSTed, signed per Standard Webhooks.',
  id: { resolve: (row: WebhookEndpointRecord) => row.id },
  load: (ids: string[], ctx) => ctx.webhooks.byIds(ctx.tenant, ids),
  sort: (row) => row.id,
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'secret' in value,
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The URL events are POSTed to.' }),
    description: t.exposeString('description', { nullable: true, description: 'Your note about it.' }),
    events: t.field({
      type: [WebhookEventTypeEnum],
      description: 'The event types it receives.',
      resolve: (row) => (row.events.length ? row.events : WEBHOOK_EVENT_TYPES) as WebhookEventType[],
    }),
    enabled: t.exposeBoolean('enabled', { description: 'False: nothing is sent to it.' }),
    disabledReason: t.exposeString('disabledReason', {
      nullable: true,
      description: 'Why it is disabled (failing for too long, or by you).',
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created.', resolve: (row) => row.createdAt }),
    deliveries: t.connection(
      {
        type: WebhookDeliveryNode,
        description: `Its deliveries, newest first. Pages hold ${DEFAULT_PAGE_SIZE} by default and at most ${MAX_PAGE_SIZE}.`,
        args: {
          status: t.arg({ type: [WebhookDeliveryStatusEnum], description: 'Only deliveries in one of these states.' }),
        },
        resolve: (endpoint, args, ctx) =>
          resolveCursorConnection(
            {
              args,
              toCursor: (row: WebhookDeliveryRecord) => deliveryCursor.of(row.seq),
              defaultSize: DEFAULT_PAGE_SIZE,
              maxSize: MAX_PAGE_SIZE,
            },
            ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) =>
              ctx.webhooks.deliveriesPage(endpoint.id, {
                afterSeq: deliveryCursor.parse(after),
                beforeSeq: deliveryCursor.parse(before),
                limit,
                inverted,
                statuses: args.status,
              }),
          ),
      },
      { name: 'WebhookDeliveryConnection', description: 'A page of deliveries.' },
      { name: 'WebhookDeliveryEdge', description: 'One delivery in a page, with its cursor.' },
    ),
  }),
});

const deliveryCursor = sequenceCursor('delivery');

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    type: [WebhookEndpointNode],
    description: 'Your webhook endpoints, oldest first.',
    resolve: (_root, _args, ctx) => ctx.webhooks.list(ctx.tenant),
  }),
}));

/** The result object of a mutation that shows a secret once. */
interface EndpointWithSecret {
  endpoint: WebhookEndpointRecord;
  secret: string;
}

function endpointWithSecret(name: string, description: string) {
  return builder.objectRef<EndpointWithSecret>(name).implement({
    description,
    fields: (t) => ({
      endpoint: t.field({ type: WebhookEndpointNode, description: 'The endpoint.', resolve: (r) => r.endpoint }),
      secret: t.exposeString('secret', {
        description: 'The signing secret (`whsec_…`), shown this once: keep it where your receiver reads it.',
      }),
    }),
  });
}

const CreateSuccess = endpointWithSecret('CreateWebhookEndpointSuccess', 'The endpoint was created.');
const RotateSuccess = endpointWithSecret(
  'RotateWebhookSecretSuccess',
  'The endpoint has a new secret; the old one keeps signing (a second signature) for 24 hours.',
);

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  description: 'A new webhook endpoint.',
  fields: (t) => ({
    url: t.string({
      required: true,
      description:
        'Where to POST. In production: https, and its host must not resolve to a loopback, private, link-local or metadata address.',
    }),
    description: t.string({ description: 'Your note (at most 500 characters).' }),
    events: t.field({ type: [WebhookEventTypeEnum], description: 'Event types to receive; leave out for every type.' }),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Changes to an endpoint; fields left out are kept.',
  fields: (t) => ({
    url: t.string({ description: 'A new URL (checked like a new endpoint).' }),
    description: t.string({ description: 'A new note.' }),
    events: t.field({ type: [WebhookEventTypeEnum], description: 'The event types to receive.' }),
    enabled: t.boolean({ description: 'False stops deliveries; true resumes them (and forgets past failures).' }),
  }),
});

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreateSuccess,
    description: 'Creates a webhook endpoint and its signing secret (shown once).',
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    validate: { schema: createWebhookEndpointSchema },
    errors: {
      types: [ValidationError],
      directResult: true,
      union: { name: 'CreateWebhookEndpointResult', description: 'The endpoint and its secret, or why not.' },
    },
    resolve: (_root, args, ctx) => {
      const { input } = args as unknown as CreateWebhookEndpointArgs;
      return ctx.webhooks.create(ctx.tenant, input);
    },
  }),
  updateWebhookEndpoint: t.field({
    type: WebhookEndpointNode,
    description: 'Changes an endpoint.',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the endpoint.' }),
      input: t.arg({ type: UpdateWebhookEndpointInput, required: true }),
    },
    validate: { schema: updateWebhookEndpointSchema },
    errors: {
      types: [NotFoundError, ValidationError],
      result: { name: 'UpdateWebhookEndpointSuccess', description: 'The endpoint as changed.' },
      union: { name: 'UpdateWebhookEndpointResult', description: 'The changed endpoint, or why not.' },
      dataField: { name: 'endpoint', description: 'The endpoint as changed.' },
    },
    resolve: async (_root, args, ctx) => {
      const { id, input } = args as unknown as UpdateWebhookEndpointArgs;
      const updated = await ctx.webhooks.update(ctx.tenant, rowIdOf(id, 'WebhookEndpoint') ?? '', input);
      if (!updated) throw notFound('webhook endpoint', id);
      return updated;
    },
  }),
  deleteWebhookEndpoint: t.field({
    type: 'ID',
    description: 'Deletes an endpoint with its delivery log; nothing more is sent to it.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the endpoint.' }) },
    errors: {
      types: [NotFoundError],
      result: { name: 'DeleteWebhookEndpointSuccess', description: 'The endpoint is gone.' },
      union: { name: 'DeleteWebhookEndpointResult', description: 'The deleted id, or why not.' },
      dataField: { name: 'deletedId', description: 'Global id of the deleted endpoint.' },
    },
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      if (!(await ctx.webhooks.delete(ctx.tenant, rowIdOf(id, 'WebhookEndpoint') ?? '')))
        throw notFound('webhook endpoint', id);
      return id;
    },
  }),
  rotateWebhookSecret: t.field({
    type: RotateSuccess,
    description:
      'Gives an endpoint a new secret (shown once). For 24 hours deliveries carry two signatures, one per secret, so receivers can switch without losing any.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the endpoint.' }) },
    errors: {
      types: [NotFoundError],
      directResult: true,
      union: { name: 'RotateWebhookSecretResult', description: 'The endpoint and its new secret, or why not.' },
    },
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      const rotated = await ctx.webhooks.rotateSecret(ctx.tenant, rowIdOf(id, 'WebhookEndpoint') ?? '');
      if (!rotated) throw notFound('webhook endpoint', id);
      return rotated;
    },
  }),
  redeliverWebhook: t.field({
    type: WebhookDeliveryNode,
    description: 'Sends a delivery again now (a new attempt with the same webhook-id), whatever its state.',
    args: { deliveryId: t.arg.id({ required: true, description: 'Global id of the delivery.' }) },
    errors: {
      types: [NotFoundError],
      result: { name: 'RedeliverWebhookSuccess', description: 'The delivery, due now.' },
      union: { name: 'RedeliverWebhookResult', description: 'The delivery due now, or why not.' },
      dataField: { name: 'delivery', description: 'The delivery, due now.' },
    },
    resolve: async (_root, args, ctx) => {
      const id = String(args.deliveryId);
      const delivery = await ctx.webhooks.redeliver(ctx.tenant, rowIdOf(id, 'WebhookDelivery') ?? '');
      if (!delivery) throw notFound('webhook delivery', id);
      return WebhookDeliveryNode.getDataloader(ctx).load(delivery.id);
    },
  }),
}));
