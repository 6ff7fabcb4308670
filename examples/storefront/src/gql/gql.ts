/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment CheckoutView on Checkout {\n    __typename\n    id\n    provider\n    providerCheckoutId\n    status\n    checkoutUrl\n    notes\n    testMode\n    createdAt\n    total {\n      amount\n      currency\n      decimal\n    }\n    merchant {\n      name\n    }\n    events {\n      status\n      at\n      source\n      notes\n    }\n    ... on SmartCheckout {\n      productUrl\n    }\n    ... on PayerVaultCheckout {\n      customerId\n    }\n    ... on StanCheckout {\n      subtotal {\n        amount\n        currency\n      }\n      discount {\n        amount\n        currency\n      }\n      tax {\n        amount\n        currency\n      }\n    }\n  }\n": typeof types.CheckoutViewFragmentDoc,
    "\n  fragment CreateProblem on Error {\n    __typename\n    message\n    code\n    ... on ValidationError {\n      fieldErrors {\n        path\n        message\n      }\n    }\n    ... on ProviderError {\n      provider\n      retryable\n      httpStatus\n      providerMessage\n      # Aliased: the success types' checkout fields have other types.\n      leftBehind: checkout {\n        ...CheckoutView\n      }\n    }\n  }\n": typeof types.CreateProblemFragmentDoc,
    "\n  mutation BuySmartCheckout($input: CreateSmartCheckoutInput!) {\n    createSmartCheckout(input: $input) {\n      __typename\n      ... on CreateSmartCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n": typeof types.BuySmartCheckoutDocument,
    "\n  mutation BuyPayerVaultCheckout($input: CreatePayerVaultCheckoutInput!) {\n    createPayerVaultCheckout(input: $input) {\n      __typename\n      ... on CreatePayerVaultCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n": typeof types.BuyPayerVaultCheckoutDocument,
    "\n  mutation BuyStanCheckout($input: CreateStanCheckoutInput!) {\n    createStanCheckout(input: $input) {\n      __typename\n      ... on CreateStanCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n": typeof types.BuyStanCheckoutDocument,
    "\n  query RecentCheckouts($first: Int!) {\n    checkouts(first: $first) {\n      edges {\n        node {\n          ...CheckoutView\n        }\n      }\n    }\n  }\n": typeof types.RecentCheckoutsDocument,
    "\n  subscription WatchCheckout($id: ID!) {\n    checkoutStatusChanged(id: $id) {\n      ...CheckoutView\n    }\n  }\n": typeof types.WatchCheckoutDocument,
};
const documents: Documents = {
    "\n  fragment CheckoutView on Checkout {\n    __typename\n    id\n    provider\n    providerCheckoutId\n    status\n    checkoutUrl\n    notes\n    testMode\n    createdAt\n    total {\n      amount\n      currency\n      decimal\n    }\n    merchant {\n      name\n    }\n    events {\n      status\n      at\n      source\n      notes\n    }\n    ... on SmartCheckout {\n      productUrl\n    }\n    ... on PayerVaultCheckout {\n      customerId\n    }\n    ... on StanCheckout {\n      subtotal {\n        amount\n        currency\n      }\n      discount {\n        amount\n        currency\n      }\n      tax {\n        amount\n        currency\n      }\n    }\n  }\n": types.CheckoutViewFragmentDoc,
    "\n  fragment CreateProblem on Error {\n    __typename\n    message\n    code\n    ... on ValidationError {\n      fieldErrors {\n        path\n        message\n      }\n    }\n    ... on ProviderError {\n      provider\n      retryable\n      httpStatus\n      providerMessage\n      # Aliased: the success types' checkout fields have other types.\n      leftBehind: checkout {\n        ...CheckoutView\n      }\n    }\n  }\n": types.CreateProblemFragmentDoc,
    "\n  mutation BuySmartCheckout($input: CreateSmartCheckoutInput!) {\n    createSmartCheckout(input: $input) {\n      __typename\n      ... on CreateSmartCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n": types.BuySmartCheckoutDocument,
    "\n  mutation BuyPayerVaultCheckout($input: CreatePayerVaultCheckoutInput!) {\n    createPayerVaultCheckout(input: $input) {\n      __typename\n      ... on CreatePayerVaultCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n": types.BuyPayerVaultCheckoutDocument,
    "\n  mutation BuyStanCheckout($input: CreateStanCheckoutInput!) {\n    createStanCheckout(input: $input) {\n      __typename\n      ... on CreateStanCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n": types.BuyStanCheckoutDocument,
    "\n  query RecentCheckouts($first: Int!) {\n    checkouts(first: $first) {\n      edges {\n        node {\n          ...CheckoutView\n        }\n      }\n    }\n  }\n": types.RecentCheckoutsDocument,
    "\n  subscription WatchCheckout($id: ID!) {\n    checkoutStatusChanged(id: $id) {\n      ...CheckoutView\n    }\n  }\n": types.WatchCheckoutDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CheckoutView on Checkout {\n    __typename\n    id\n    provider\n    providerCheckoutId\n    status\n    checkoutUrl\n    notes\n    testMode\n    createdAt\n    total {\n      amount\n      currency\n      decimal\n    }\n    merchant {\n      name\n    }\n    events {\n      status\n      at\n      source\n      notes\n    }\n    ... on SmartCheckout {\n      productUrl\n    }\n    ... on PayerVaultCheckout {\n      customerId\n    }\n    ... on StanCheckout {\n      subtotal {\n        amount\n        currency\n      }\n      discount {\n        amount\n        currency\n      }\n      tax {\n        amount\n        currency\n      }\n    }\n  }\n"): typeof import('./graphql.js').CheckoutViewFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CreateProblem on Error {\n    __typename\n    message\n    code\n    ... on ValidationError {\n      fieldErrors {\n        path\n        message\n      }\n    }\n    ... on ProviderError {\n      provider\n      retryable\n      httpStatus\n      providerMessage\n      # Aliased: the success types' checkout fields have other types.\n      leftBehind: checkout {\n        ...CheckoutView\n      }\n    }\n  }\n"): typeof import('./graphql.js').CreateProblemFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BuySmartCheckout($input: CreateSmartCheckoutInput!) {\n    createSmartCheckout(input: $input) {\n      __typename\n      ... on CreateSmartCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n"): typeof import('./graphql.js').BuySmartCheckoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BuyPayerVaultCheckout($input: CreatePayerVaultCheckoutInput!) {\n    createPayerVaultCheckout(input: $input) {\n      __typename\n      ... on CreatePayerVaultCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n"): typeof import('./graphql.js').BuyPayerVaultCheckoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BuyStanCheckout($input: CreateStanCheckoutInput!) {\n    createStanCheckout(input: $input) {\n      __typename\n      ... on CreateStanCheckoutSuccess {\n        checkout {\n          ...CheckoutView\n        }\n      }\n      ...CreateProblem\n    }\n  }\n"): typeof import('./graphql.js').BuyStanCheckoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RecentCheckouts($first: Int!) {\n    checkouts(first: $first) {\n      edges {\n        node {\n          ...CheckoutView\n        }\n      }\n    }\n  }\n"): typeof import('./graphql.js').RecentCheckoutsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WatchCheckout($id: ID!) {\n    checkoutStatusChanged(id: $id) {\n      ...CheckoutView\n    }\n  }\n"): typeof import('./graphql.js').WatchCheckoutDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
