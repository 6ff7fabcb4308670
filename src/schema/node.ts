import { builder } from '../builder.js';
import { loadCheckout } from './checkout.js';
import { decodeGlobalIdSafely } from './global-id.js';
import { MerchantNode } from './merchant.js';
import { WebhookDeliveryNode, WebhookEndpointNode } from './webhooks.js';

// Our own `node` field instead of the relay plugin's: that one throws on an undecodable id or an
// unknown type name, while a caller must learn nothing more from a bad id than from a missing one.
builder.queryField('node', (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description:
      'Fetches any object by its global id; null when it does not exist, is not yours, or the id is malformed.',
    args: {
      id: t.arg.id({
        required: true,
        description: 'Global id of a checkout, merchant, webhook endpoint or webhook delivery.',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const globalId = String(args.id);
      const decoded = decodeGlobalIdSafely(globalId);
      if (!decoded) return null;
      // The loaders are scoped by tenant: another tenant's object loads as null, like a missing one.
      switch (decoded.typename) {
        case 'Merchant':
          return MerchantNode.getDataloader(ctx).load(decoded.id);
        case 'WebhookEndpoint':
          return WebhookEndpointNode.getDataloader(ctx).load(decoded.id);
        case 'WebhookDelivery':
          return WebhookDeliveryNode.getDataloader(ctx).load(decoded.id);
        default:
          return loadCheckout(globalId, ctx);
      }
    },
  }),
);
