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

/** POSTs one operation with an API key (and any other `headers`) and returns the parsed answer, its exact bytes and headers. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  apiKey: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; answer: GraphQLAnswer<T>; headers: Headers }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.text();
  return { status: response.status, body, answer: JSON.parse(body) as GraphQLAnswer<T>, headers: response.headers };
}

/** The origin of the storefront every W1 server allows by CORS (`CORS_ORIGINS`). */
export const BROWSER_ORIGIN = 'https://shop.example';

/** The `Accept` header of GraphQL clients (Apollo Client, urql, graphql-http, GraphiQL). */
export const GRAPHQL_ACCEPT = 'application/graphql-response+json, application/json;q=0.9';

/**
 * What Chromium sends with a `fetch` from the storefront's page to the API on another origin,
 * besides content-type and authorization: the request's own CORS and fetch-metadata headers.
 */
export const BROWSER_HEADERS: Record<string, string> = {
  accept: GRAPHQL_ACCEPT,
  origin: BROWSER_ORIGIN,
  referer: `${BROWSER_ORIGIN}/`,
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Linux"',
  'sec-fetch-dest': 'empty',
  'sec-fetch-mode': 'cors',
  'sec-fetch-site': 'cross-site',
};

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
