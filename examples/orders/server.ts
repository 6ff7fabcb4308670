import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';

/**
 * The example `orders` subgraph: a storefront's orders, each paid by a checkout of the checkout
 * graph, which it references by global id only. It exists to show the checkout graph composing
 * and running behind Hive Gateway next to another service; orders live in memory.
 *
 * `npm run example:orders` (PORT, default 4001; HOST, default 127.0.0.1).
 */
interface Order {
  id: string;
  number: string;
  checkoutId: string;
}

const orders = new Map<string, Order>();
const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const schema = buildSubgraphSchema({
  typeDefs,
  resolvers: {
    Query: {
      order: (_: unknown, { id }: { id: string }) => orders.get(id) ?? null,
      orders: () => [...orders.values()],
    },
    Mutation: {
      placeOrder: (_: unknown, { number, checkoutId }: { number: string; checkoutId: string }) => {
        const order = { id: `order-${orders.size + 1}`, number, checkoutId };
        orders.set(order.id, order);
        return order;
      },
    },
    Order: {
      __resolveReference: ({ id }: { id: string }) => orders.get(id) ?? null,
      // A reference: the gateway asks the checkout graph for every other field of the checkout.
      checkout: (order: Order) => ({ __typename: 'SmartCheckout', id: order.checkoutId }),
    },
  },
});

const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', landingPage: false, graphiql: false });
const server = createServer(yoga);
const port = Number(process.env.PORT ?? 4001);
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => {
  const { port: bound } = server.address() as AddressInfo;
  process.stdout.write(
    `${JSON.stringify({ msg: 'orders subgraph listening', url: `http://${host}:${bound}/graphql` })}\n`,
  );
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
