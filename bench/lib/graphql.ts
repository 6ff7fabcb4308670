/** The selection W1 measures: a checkout with its line items and merchant (no events: those are W2's). */
const CHECKOUT_SELECTION = /* GraphQL */ `
    __typename
    id
    provider
    status
    total { amount currency decimal }
    lineItems { productId description sku quantity productUrl unitPrice { amount currency decimal } }
    merchant { id name website }
    createdAt
    updatedAt`;

/** W1 query 1: one checkout by id. */
export const CHECKOUT_QUERY = `query Checkout($id: ID!) {\n  checkout(id: $id) {${CHECKOUT_SELECTION}\n  }\n}`;

/** W1 query 2: a page of 50 checkouts, each with line items and merchant. */
export const CHECKOUTS_QUERY = `query Checkouts {\n  checkouts(first: 20) {\n    edges { cursor node {${CHECKOUT_SELECTION}\n    } }\n    pageInfo { hasNextPage endCursor }\n  }\n}`;

/** A GraphQL answer as JSON. */
export interface GraphQLAnswer<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs one operation with an API key and returns the parsed answer and its exact bytes. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  apiKey: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: string; answer: GraphQLAnswer<T> }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.text();
  return { status: response.status, body, answer: JSON.parse(body) as GraphQLAnswer<T> };
}

const CREATE_STAN = `mutation ($input: CreateStanCheckoutInput!) { createStanCheckout(input: $input) { __typename ... on CreateStanCheckoutSuccess { checkout { id } } ... on Error { message } } }`;
const CREATE_SMART = `mutation ($input: CreateSmartCheckoutInput!) { createSmartCheckout(input: $input) { __typename ... on CreateSmartCheckoutSuccess { checkout { id } } ... on Error { message } } }`;

/**
 * Seeds `count` checkouts through the API's own create mutations against the built-in sandboxes,
 * alternating Stan (two line items, the Stan sandbox merchant) and Smartcheckout (one line item,
 * one of five store merchants), in a fixed order so every server under test holds the same data.
 * Returns the global ids, oldest first.
 */
export async function seedCheckouts(url: string, apiKey: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { answer } =
      i % 2 === 0
        ? await gql<{ createStanCheckout: { __typename: string; checkout?: { id: string }; message?: string } }>(
            url,
            apiKey,
            CREATE_STAN,
            {
              input: {
                returnUrl: 'https://shop.example/return',
                lineItems: [
                  {
                    productId: `sku-${i}-a`,
                    quantity: 2,
                    unitPrice: 1250,
                    description: 'Espresso cups (pair)',
                    sku: `CUP-${i}`,
                  },
                  {
                    productId: `sku-${i}-b`,
                    quantity: 1,
                    unitPrice: 3900,
                    description: 'Coffee grinder',
                    sku: `GRD-${i}`,
                  },
                ],
                taxRate: 20,
                sessionId: `cart-${i}`,
              },
            },
          )
        : await gql<{ createSmartCheckout: { __typename: string; checkout?: { id: string }; message?: string } }>(
            url,
            apiKey,
            CREATE_SMART,
            {
              input: {
                productUrl: `https://store-${i % 5}.example/item/${i}?sandbox_amount=19.99`,
                email: 'ada@example.com',
              },
            },
          );
    const result = Object.values(answer.data ?? {})[0] as
      | { __typename: string; checkout?: { id: string }; message?: string }
      | undefined;
    if (!result?.checkout) throw new Error(`seeding checkout ${i} failed: ${JSON.stringify(answer)}`);
    ids.push(result.checkout.id);
  }
  return ids;
}
