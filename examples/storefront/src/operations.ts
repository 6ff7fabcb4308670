import { graphql } from './gql/index.js';

/*
 * Every document the storefront sends. GraphQL Code Generator's client preset turns each
 * `graphql(...)` call into a typed document string (examples/storefront/src/gql), so results and
 * variables are typed from the schema, and the page breaks at build time when the API changes.
 */

/** What the page shows of a checkout: the same selection for creates, the list and live updates. */
export const CheckoutViewFragment = graphql(`
  fragment CheckoutView on Checkout {
    __typename
    id
    provider
    providerCheckoutId
    status
    checkoutUrl
    notes
    testMode
    createdAt
    total {
      amount
      currency
      decimal
    }
    merchant {
      name
    }
    events {
      status
      at
      source
      notes
    }
    ... on SmartCheckout {
      productUrl
    }
    ... on PayerVaultCheckout {
      customerId
    }
    ... on StanCheckout {
      subtotal {
        amount
        currency
      }
      discount {
        amount
        currency
      }
      tax {
        amount
        currency
      }
    }
  }
`);

/** The typed errors a create can answer with, and what the page needs to explain each. */
export const CreateProblemFragment = graphql(`
  fragment CreateProblem on Error {
    __typename
    message
    code
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
    ... on ProviderError {
      provider
      retryable
      httpStatus
      providerMessage
      # Aliased: the success types' checkout fields have other types.
      leftBehind: checkout {
        ...CheckoutView
      }
    }
  }
`);

export const BuySmartCheckoutDocument = graphql(`
  mutation BuySmartCheckout($input: CreateSmartCheckoutInput!) {
    createSmartCheckout(input: $input) {
      __typename
      ... on CreateSmartCheckoutSuccess {
        checkout {
          ...CheckoutView
        }
      }
      ...CreateProblem
    }
  }
`);

export const BuyPayerVaultCheckoutDocument = graphql(`
  mutation BuyPayerVaultCheckout($input: CreatePayerVaultCheckoutInput!) {
    createPayerVaultCheckout(input: $input) {
      __typename
      ... on CreatePayerVaultCheckoutSuccess {
        checkout {
          ...CheckoutView
        }
      }
      ...CreateProblem
    }
  }
`);

export const BuyStanCheckoutDocument = graphql(`
  mutation BuyStanCheckout($input: CreateStanCheckoutInput!) {
    createStanCheckout(input: $input) {
      __typename
      ... on CreateStanCheckoutSuccess {
        checkout {
          ...CheckoutView
        }
      }
      ...CreateProblem
    }
  }
`);

export const RecentCheckoutsDocument = graphql(`
  query RecentCheckouts($first: Int!) {
    checkouts(first: $first) {
      edges {
        node {
          ...CheckoutView
        }
      }
    }
  }
`);

export const WatchCheckoutDocument = graphql(`
  subscription WatchCheckout($id: ID!) {
    checkoutStatusChanged(id: $id) {
      ...CheckoutView
    }
  }
`);
