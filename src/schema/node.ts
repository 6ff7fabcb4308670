import { builder } from '../builder.js';
import { loadCheckout } from './checkout.js';
import { decodeGlobalIdSafely } from './global-id.js';
import { MerchantNode } from './merchant.js';

// Our own `node` field instead of the relay plugin's: that one throws on an undecodable id or an
// unknown type name, while a caller must learn nothing more from a bad id than from a missing one.
builder.queryField('node', (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description:
      'Fetches any object by its global id; null when it does not exist, is not yours, or the id is malformed.',
    args: { id: t.arg.id({ required: true, description: 'Global id of a checkout or merchant.' }) },
    resolve: async (_root, args, ctx) => {
      const globalId = String(args.id);
      const decoded = decodeGlobalIdSafely(globalId);
      if (!decoded) return null;
      if (decoded.typename === 'Merchant') return MerchantNode.getDataloader(ctx).load(decoded.id);
      return loadCheckout(globalId, ctx);
    },
  }),
);
