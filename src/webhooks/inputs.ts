import { z } from 'zod';
import { httpUrl, optionalText } from '../domain/inputs.js';
import { WEBHOOK_EVENT_TYPES } from './events.js';

/*
 * The zod schemas of the webhook mutations' inputs, run by @pothos/plugin-zod before any resolver.
 * The URL's target (https, the addresses its host resolves to) is checked by WebhookEndpoints.
 */

const events = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1, 'must list at least one event type (leave it out for every type)')
  .refine((list) => new Set(list).size === list.length, 'must not repeat an event type');

export const createWebhookEndpointSchema = z.object({
  input: z.object({ url: httpUrl, description: optionalText(500), events: events.nullish() }),
});
export type CreateWebhookEndpointArgs = z.infer<typeof createWebhookEndpointSchema>;

export const updateWebhookEndpointSchema = z.object({
  id: z.string(),
  input: z.object({
    url: httpUrl.nullish(),
    description: optionalText(500),
    events: events.nullish(),
    enabled: z.boolean().nullish(),
  }),
});
export type UpdateWebhookEndpointArgs = z.infer<typeof updateWebhookEndpointSchema>;
