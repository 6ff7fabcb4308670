import { builder } from '../builder.js';
import type { MerchantRow } from '../db/schema.js';

/** Merchants load through one DataLoader per operation, scoped to the caller's tenant. */
export const MerchantNode = builder.loadableNode('Merchant', {
  description: 'The store a checkout buys from, shared by all of your checkouts at that store.',
  id: { resolve: (merchant: MerchantRow) => merchant.id },
  load: (ids: string[], ctx) => ctx.repository.merchantsByIds(ctx.tenant, ids),
  sort: (merchant) => merchant.id,
  // `node(id:)` resolves the Node interface by isTypeOf; only merchant rows have a `key`.
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'key' in value && !('status' in value),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name (for Smartcheckout, the store\'s host name).' }),
    website: t.exposeString('website', { nullable: true, description: 'The store\'s website.' }),
    privacyPolicyUrl: t.exposeString('privacyPolicyUrl', { nullable: true, description: 'Link to the privacy policy.' }),
    generalTermsUrl: t.exposeString('generalTermsUrl', { nullable: true, description: 'Link to the general terms.' }),
    logoUrl: t.exposeString('logoUrl', { nullable: true, description: 'Link to the logo.' }),
  }),
});

builder.asEntity(MerchantNode, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference, ctx) => loadByGlobalId(reference.id, 'Merchant', (id) => MerchantNode.getDataloader(ctx).load(id)),
});

/** Decodes a global id of `typename` and loads it; anything malformed is simply not found. */
export async function loadByGlobalId<T>(globalId: string, typename: string, load: (id: string) => Promise<T | null>): Promise<T | null> {
  const decoded = decodeGlobalIdSafely(globalId);
  return decoded && decoded.typename === typename ? load(decoded.id) : null;
}

/** Like the relay plugin's decodeGlobalID, but returns null instead of throwing on garbage. */
export function decodeGlobalIdSafely(globalId: string): { typename: string; id: string } | null {
  if (globalId.length > 200) return null;
  const decoded = Buffer.from(globalId, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 1) return null;
  return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
}
