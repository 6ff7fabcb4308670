import { builder } from '../builder.js';
import type { MerchantRow } from '../db/schema.js';
import { loadByGlobalId } from './global-id.js';

/** Merchants load through one DataLoader per operation, scoped to the caller's tenant. */
export const MerchantNode = builder.loadableNode('Merchant', {
  description: 'The store a checkout buys from, shared by all of your checkouts at that store.',
  id: { resolve: (merchant: MerchantRow) => merchant.id },
  load: (ids: string[], ctx) => ctx.reads.merchantsOf(ctx.tenant, ids),
  sort: (merchant) => merchant.id,
  // `node(id:)` resolves the Node interface by isTypeOf; only merchant rows have a `key`.
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'key' in value && !('status' in value),
  fields: (t) => ({
    name: t.exposeString('name', {
      description: "Display name (for a purchase by product URL, the store's host name).",
    }),
    website: t.exposeString('website', { nullable: true, description: "The store's website." }),
    privacyPolicyUrl: t.exposeString('privacyPolicyUrl', {
      nullable: true,
      description: 'Link to the privacy policy.',
    }),
    generalTermsUrl: t.exposeString('generalTermsUrl', { nullable: true, description: 'Link to the general terms.' }),
    logoUrl: t.exposeString('logoUrl', { nullable: true, description: 'Link to the logo.' }),
  }),
});

builder.asEntity(MerchantNode, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference, ctx) =>
    loadByGlobalId(reference.id, 'Merchant', (id) => MerchantNode.getDataloader(ctx).load(id)),
});
