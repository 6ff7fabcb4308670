import type { GraphQLSchema } from 'graphql';
import { builder } from '../builder.js';
import './scalars.js';
import './errors.js';
import './money.js';
import './merchant.js';
import './checkout.js';
import './smart-checkout.js';
import './payervault-checkout.js';
import './stan-checkout.js';
import './node.js';
import './checkout-subscription.js';
import './checkout-outcome.js';
import './webhooks.js';
import './operator.js';
import './trusted-documents.js';

builder.queryType({ description: 'Read your checkouts.' });
// Every mutation needs a key with scope `write`; `read` keys may query and subscribe.
builder.mutationType({
  description: 'Create and refresh checkouts, record outcomes providers cannot report, and manage webhook endpoints.',
  authScopes: { write: true },
});
builder.subscriptionType({ description: 'Watch checkouts live (graphql-ws on /graphql, or SSE).' });

/** The executable schema, an Apollo Federation v2 subgraph whose checkouts and merchants are entities keyed by `id`. */
export const schema: GraphQLSchema = builder.toSubGraphSchema({
  linkUrl: 'https://specs.apollo.dev/federation/v2.6',
  federationDirectives: ['@key'],
});

/** What GraphiQL opens with: a purchase in the sandbox, watched live, and the recent checkouts. */
export const GRAPHIQL_EXAMPLE = /* GraphQL */ `# Start a purchase in the Smartcheckout sandbox, then watch it until COMPLETED:
# run Buy, copy the checkout id into Watch, run Watch (it streams over WebSocket).
# sandbox_after_polls=5 keeps it PROCESSING for about 30 s (its 5th status poll), time to do so.
mutation Buy {
  createSmartCheckout(input: { productUrl: "https://shop.example/item?sandbox_amount=49.99&sandbox_after_polls=5", email: "ada@example.com" }) {
    __typename
    ... on CreateSmartCheckoutSuccess { checkout { id status merchant { name } } }
    ... on Error { message }
  }
}

subscription Watch {
  checkoutStatusChanged(id: "<checkout id>") { status total { decimal currency } notes }
}

query Recent {
  checkouts(first: 10) {
    edges { node { id provider status total { decimal currency } createdAt } }
  }
}
`;
