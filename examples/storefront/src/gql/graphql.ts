/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** A shipping address. */
export type AddressInput = {
  /** City. */
  city: string;
  /** ISO 3166-1 alpha-2 country code, e.g. FR. */
  country: string;
  /** Street address. */
  line1: string;
  /** Apartment, suite, building. */
  line2?: string | null | undefined;
  /** Recipient name. */
  name?: string | null | undefined;
  /** Phone number for the carrier. */
  phone?: string | null | undefined;
  /** Postal or ZIP code. */
  postalCode: string;
  /** State, region or province. */
  state?: string | null | undefined;
};

/** The third-party provider behind a checkout. */
export type CheckoutProvider =
  /** PayerVault: hosted checkout page for a cart kept at PayerVault. */
  | 'PAYERVAULT'
  /** Smartcheckout: agentic purchase of any product URL. */
  | 'SMARTCHECKOUT'
  /** Stan: checkout session from line items and totals. */
  | 'STAN';

/** Where a checkout is, in one vocabulary for every provider. */
export type CheckoutStatus =
  /** The purchase succeeded. Terminal. */
  | 'COMPLETED'
  /** Nobody reported an outcome within CHECKOUT_OPEN_TTL_SECONDS of creation (default 24 h), or the merchant recorded it as expired. Terminal. */
  | 'EXPIRED'
  /** The purchase or its creation failed; see notes. Terminal. */
  | 'FAILED'
  /** Created at the provider and waiting for the shopper (a link or session to open). */
  | 'OPEN'
  /** Recorded here; the provider has not answered yet. */
  | 'PENDING'
  /** The provider is working on the purchase. */
  | 'PROCESSING'
  /** The outcome at the provider is not known (it never answered a create call, or its status answers could not be used): recordCheckoutOutcome or an operator can resolve it. */
  | 'UNKNOWN';

/** The PayerVault customer whose cart to check out. */
export type CreatePayerVaultCheckoutInput = {
  /** The customer id at PayerVault. */
  customerId: string;
  /** Your key for safe retries (1 to 255 printable characters): the same key and input return the original checkout. */
  idempotencyKey?: string | null | undefined;
};

/** What Smartcheckout needs to buy a product for a shopper. No card data: Smartcheckout pays with its own virtual cards. */
export type CreateSmartCheckoutInput = {
  /** The shopper's email. */
  email: string;
  /** Your key for safe retries (1 to 255 printable characters): the same key and input return the original checkout. */
  idempotencyKey?: string | null | undefined;
  /** Absolute http(s) URL of the product page. */
  productUrl: string;
  /** Instructions for the purchase, e.g. "Size Large, Color Blue". */
  prompt?: string | null | undefined;
  /** Where to ship. */
  shippingAddress?: AddressInput | null | undefined;
  /** Extra `user_data` keys for Smartcheckout (a JSON object; not email, prompt or shipping_address). */
  userData?: unknown;
};

/** A Stan checkout session. Amounts are integers (SafeInt, up to 2^53 − 1) in minor units of STAN_CURRENCY, computed exactly; a result beyond 2^53 − 1 is a ValidationError. subtotalAmount and totalAmount are computed when omitted and must match the lines when given; tax is taxCost, or taxRate percent of (subtotal - discount) rounded half up. */
export type CreateStanCheckoutInput = {
  /** Absolute discount on the checkout. */
  discountAmount?: number | null | undefined;
  /** The discount code used. */
  discountCode?: string | null | undefined;
  /** Your key for safe retries (1 to 255 printable characters): the same key and input return the original checkout. */
  idempotencyKey?: string | null | undefined;
  /** 1 to 100 lines. */
  lineItems: Array<StanLineItemInput>;
  /** Your order id, if created. */
  orderId?: string | null | undefined;
  /** Where Stan sends the shopper at the end of the checkout. */
  returnUrl: string;
  /** Your session id (a cart id or anything else). */
  sessionId?: string | null | undefined;
  /** Sum of the lines before checkout discount and tax; computed when omitted. */
  subtotalAmount?: number | null | undefined;
  /** Tax amount; computed from taxRate when omitted. */
  taxCost?: number | null | undefined;
  /** Tax rate in percent (0 to 100). */
  taxRate?: number | null | undefined;
  /** subtotal - discount + tax; computed when omitted. */
  totalAmount?: number | null | undefined;
};

/** Machine-readable kind of an expected failure. */
export type ErrorCode =
  /** The checkout already ended with another status (CheckoutFinalError). */
  | 'CHECKOUT_FINAL'
  /** The customer's cart at the provider is empty (EmptyCartError). */
  | 'EMPTY_CART'
  /** A request with the idempotency key is still in progress; retry later (IdempotencyKeyInUseError). */
  | 'IDEMPOTENCY_KEY_IN_USE'
  /** The idempotency key was used with another input (IdempotencyKeyReuseError). */
  | 'IDEMPOTENCY_KEY_REUSE'
  /** No such checkout is visible to you (NotFoundError). */
  | 'NOT_FOUND'
  /** The provider failed or could not be used (ProviderError). */
  | 'PROVIDER_ERROR'
  /** The input was invalid (ValidationError). */
  | 'VALIDATION_FAILED';

/** One line of a Stan checkout. Amounts are integers in minor units (cents). */
export type StanLineItemInput = {
  /** What is bought. */
  description?: string | null | undefined;
  /** Discount on this line in minor units. */
  discountAmount?: number | null | undefined;
  /** Product image URL. */
  imageUrl?: string | null | undefined;
  /** Your product id. */
  productId: string;
  /** Product page URL. */
  productUrl?: string | null | undefined;
  /** Units, at least 1. */
  quantity: number;
  /** Stock keeping unit. */
  sku?: string | null | undefined;
  /** Price of one unit in minor units (up to 2^53 − 1). */
  unitPrice: number;
};

type CheckoutView_PayerVaultCheckout_Fragment = { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> };

type CheckoutView_SmartCheckout_Fragment = { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> };

type CheckoutView_StanCheckout_Fragment = { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> };

export type CheckoutViewFragment =
  | CheckoutView_PayerVaultCheckout_Fragment
  | CheckoutView_SmartCheckout_Fragment
  | CheckoutView_StanCheckout_Fragment
;

type CreateProblem_ApiKeyNotFoundError_Fragment = { __typename: 'ApiKeyNotFoundError', message: string, code: ErrorCode };

type CreateProblem_CheckoutFinalError_Fragment = { __typename: 'CheckoutFinalError', message: string, code: ErrorCode };

type CreateProblem_DocumentManifestNotFoundError_Fragment = { __typename: 'DocumentManifestNotFoundError', message: string, code: ErrorCode };

type CreateProblem_EmptyCartError_Fragment = { __typename: 'EmptyCartError', message: string, code: ErrorCode };

type CreateProblem_IdempotencyKeyInUseError_Fragment = { __typename: 'IdempotencyKeyInUseError', message: string, code: ErrorCode };

type CreateProblem_IdempotencyKeyReuseError_Fragment = { __typename: 'IdempotencyKeyReuseError', message: string, code: ErrorCode };

type CreateProblem_NotFoundError_Fragment = { __typename: 'NotFoundError', message: string, code: ErrorCode };

type CreateProblem_ProviderError_Fragment = { __typename: 'ProviderError', provider: CheckoutProvider, retryable: boolean, httpStatus: number | null, providerMessage: string | null, message: string, code: ErrorCode, leftBehind:
    | { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
    | { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
    | { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
   | null };

type CreateProblem_ValidationError_Fragment = { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: Array<string>, message: string }> };

export type CreateProblemFragment =
  | CreateProblem_ApiKeyNotFoundError_Fragment
  | CreateProblem_CheckoutFinalError_Fragment
  | CreateProblem_DocumentManifestNotFoundError_Fragment
  | CreateProblem_EmptyCartError_Fragment
  | CreateProblem_IdempotencyKeyInUseError_Fragment
  | CreateProblem_IdempotencyKeyReuseError_Fragment
  | CreateProblem_NotFoundError_Fragment
  | CreateProblem_ProviderError_Fragment
  | CreateProblem_ValidationError_Fragment
;

export type BuySmartCheckoutMutationVariables = Exact<{
  input: CreateSmartCheckoutInput;
}>;


export type BuySmartCheckoutMutation = { createSmartCheckout:
    | { __typename: 'CreateSmartCheckoutSuccess', checkout: { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> } }
    | { __typename: 'IdempotencyKeyInUseError', message: string, code: ErrorCode }
    | { __typename: 'IdempotencyKeyReuseError', message: string, code: ErrorCode }
    | { __typename: 'ProviderError', provider: CheckoutProvider, retryable: boolean, httpStatus: number | null, providerMessage: string | null, message: string, code: ErrorCode, leftBehind:
        | { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
       | null }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type BuyPayerVaultCheckoutMutationVariables = Exact<{
  input: CreatePayerVaultCheckoutInput;
}>;


export type BuyPayerVaultCheckoutMutation = { createPayerVaultCheckout:
    | { __typename: 'CreatePayerVaultCheckoutSuccess', checkout: { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> } }
    | { __typename: 'EmptyCartError', message: string, code: ErrorCode }
    | { __typename: 'IdempotencyKeyInUseError', message: string, code: ErrorCode }
    | { __typename: 'IdempotencyKeyReuseError', message: string, code: ErrorCode }
    | { __typename: 'ProviderError', provider: CheckoutProvider, retryable: boolean, httpStatus: number | null, providerMessage: string | null, message: string, code: ErrorCode, leftBehind:
        | { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
       | null }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type BuyStanCheckoutMutationVariables = Exact<{
  input: CreateStanCheckoutInput;
}>;


export type BuyStanCheckoutMutation = { createStanCheckout:
    | { __typename: 'CreateStanCheckoutSuccess', checkout: { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> } }
    | { __typename: 'IdempotencyKeyInUseError', message: string, code: ErrorCode }
    | { __typename: 'IdempotencyKeyReuseError', message: string, code: ErrorCode }
    | { __typename: 'ProviderError', provider: CheckoutProvider, retryable: boolean, httpStatus: number | null, providerMessage: string | null, message: string, code: ErrorCode, leftBehind:
        | { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
       | null }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type RecentCheckoutsQueryVariables = Exact<{
  first: number;
}>;


export type RecentCheckoutsQuery = { checkouts: { edges: Array<{ node:
        | { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
        | { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
       }> } };

export type WatchCheckoutSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type WatchCheckoutSubscription = { checkoutStatusChanged:
    | { __typename: 'PayerVaultCheckout', customerId: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
    | { __typename: 'SmartCheckout', productUrl: string, id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
    | { __typename: 'StanCheckout', id: string, provider: CheckoutProvider, providerCheckoutId: string | null, status: CheckoutStatus, checkoutUrl: string | null, notes: string | null, testMode: boolean, createdAt: string, subtotal: { amount: number, currency: string }, discount: { amount: number, currency: string } | null, tax: { amount: number, currency: string } | null, total: { amount: number, currency: string, decimal: string } | null, merchant: { name: string } | null, events: Array<{ status: CheckoutStatus, at: string, source: string, notes: string | null }> }
   };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const CheckoutViewFragmentDoc = new TypedDocumentString(`
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
    `, {"fragmentName":"CheckoutView"}) as unknown as TypedDocumentString<CheckoutViewFragment, unknown>;
export const CreateProblemFragmentDoc = new TypedDocumentString(`
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
    leftBehind: checkout {
      ...CheckoutView
    }
  }
}
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
}`, {"fragmentName":"CreateProblem"}) as unknown as TypedDocumentString<CreateProblemFragment, unknown>;
export const BuySmartCheckoutDocument = new TypedDocumentString(`
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
    leftBehind: checkout {
      ...CheckoutView
    }
  }
}`, {"hash":"sha256:0f66dfdc5aa94a8052933d3b2aedae69e40018f79c4abf0375ada121cc646611"}) as unknown as TypedDocumentString<BuySmartCheckoutMutation, BuySmartCheckoutMutationVariables>;
export const BuyPayerVaultCheckoutDocument = new TypedDocumentString(`
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
    leftBehind: checkout {
      ...CheckoutView
    }
  }
}`, {"hash":"sha256:1e3cd2a01eb284f4e4929451f38167c156f872c7d43a6001cb1d595bb40d1878"}) as unknown as TypedDocumentString<BuyPayerVaultCheckoutMutation, BuyPayerVaultCheckoutMutationVariables>;
export const BuyStanCheckoutDocument = new TypedDocumentString(`
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
    leftBehind: checkout {
      ...CheckoutView
    }
  }
}`, {"hash":"sha256:707a168886d3577f02d87a822b567ee2bb8ac26fe125e9d9bc5d6a97e108edbc"}) as unknown as TypedDocumentString<BuyStanCheckoutMutation, BuyStanCheckoutMutationVariables>;
export const RecentCheckoutsDocument = new TypedDocumentString(`
    query RecentCheckouts($first: Int!) {
  checkouts(first: $first) {
    edges {
      node {
        ...CheckoutView
      }
    }
  }
}
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
}`, {"hash":"sha256:5a0eb67c94c9887ab6bb0fbdd1c87e9f210597e598c20d70600d9d6190aad352"}) as unknown as TypedDocumentString<RecentCheckoutsQuery, RecentCheckoutsQueryVariables>;
export const WatchCheckoutDocument = new TypedDocumentString(`
    subscription WatchCheckout($id: ID!) {
  checkoutStatusChanged(id: $id) {
    ...CheckoutView
  }
}
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
}`, {"hash":"sha256:f2c8f9db47aac99c8cdac45d1b4abd32b9f3452769a9b9fc9cb10bc12c4a2b37"}) as unknown as TypedDocumentString<WatchCheckoutSubscription, WatchCheckoutSubscriptionVariables>;