import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import type { ProviderName } from '../domain/checkout.js';
import {
  type DomainError,
  type EmptyCartError,
  type ERROR_CODES,
  IdempotencyKeyInUseError,
  IdempotencyKeyReuseError,
  NotFoundError,
  ProviderError,
  ValidationError,
  type FieldError,
} from '../domain/errors.js';
import { definitionOf, PROVIDER_REGISTRY } from '../providers/index.js';

const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Machine-readable kind of an expected failure.',
  values: {
    VALIDATION_FAILED: { value: 'VALIDATION_FAILED', description: 'The input was invalid (ValidationError).' },
    PROVIDER_ERROR: {
      value: 'PROVIDER_ERROR',
      description: 'The provider failed or could not be used (ProviderError).',
    },
    EMPTY_CART: { value: 'EMPTY_CART', description: "The customer's cart at the provider is empty (EmptyCartError)." },
    IDEMPOTENCY_KEY_REUSE: {
      value: 'IDEMPOTENCY_KEY_REUSE',
      description: 'The idempotency key was used with another input (IdempotencyKeyReuseError).',
    },
    IDEMPOTENCY_KEY_IN_USE: {
      value: 'IDEMPOTENCY_KEY_IN_USE',
      description: 'A request with the idempotency key is still in progress; retry later (IdempotencyKeyInUseError).',
    },
    NOT_FOUND: { value: 'NOT_FOUND', description: 'No such checkout is visible to you (NotFoundError).' },
    CHECKOUT_FINAL: {
      value: 'CHECKOUT_FINAL',
      description: 'The checkout already ended with another status (CheckoutFinalError).',
    },
  } as const satisfies Record<(typeof ERROR_CODES)[number], unknown>,
});

export const CheckoutProviderEnum = builder.enumType('CheckoutProvider', {
  description: 'The third-party provider behind a checkout.',
  values: Object.fromEntries(
    PROVIDER_REGISTRY.map((definition) => [
      definition.name,
      { value: definition.name, description: definition.description },
    ]),
  ) as Record<ProviderName, { value: ProviderName; description: string }>,
});

/** The `Error` interface every typed failure implements. */
export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure, returned as a typed result instead of a GraphQL error.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'Human-readable explanation, safe to show to a developer.' }),
    code: t.field({
      type: ErrorCodeEnum,
      description: 'Machine-readable kind of failure.',
      resolve: (error) => error.code,
    }),
  }),
});

const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One invalid input field.',
  fields: (t) => ({
    path: t.exposeStringList('path', {
      description: 'Path of the field from the argument, e.g. ["input", "lineItems", "0", "quantity"].',
    }),
    message: t.exposeString('message', { description: 'What is wrong with the value.' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input was rejected before anything was stored or sent to a provider.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fieldErrors: t.field({
      type: [FieldErrorRef],
      description: 'Every invalid field, not only the first.',
      resolve: (error) => error.fieldErrors,
    }),
  }),
});

builder.objectType(ProviderError, {
  name: 'ProviderError',
  description: 'The provider failed, timed out, could not be reached or answered something unusable.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    provider: t.field({
      type: CheckoutProviderEnum,
      description: 'Which provider failed.',
      resolve: (error) => error.provider,
    }),
    retryable: t.exposeBoolean('retryable', {
      description: 'True when the same request may succeed later (timeouts, 5xx, 429).',
    }),
    httpStatus: t.exposeInt('httpStatus', {
      nullable: true,
      description: "The provider's HTTP status, when it answered.",
    }),
    providerMessage: t.exposeString('providerMessage', {
      nullable: true,
      description: "The provider's own error message, when it sent one.",
    }),
  }),
});

builder.objectType(IdempotencyKeyReuseError, {
  name: 'IdempotencyKeyReuseError',
  description: 'The idempotency key was already used with a different input.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'The reused key.' }),
  }),
});

builder.objectType(IdempotencyKeyInUseError, {
  name: 'IdempotencyKeyInUseError',
  description:
    'An earlier request with this idempotency key and input is still in progress: nothing was sent to the provider for this one. Retry with the same key and input; once the earlier request has its answer, the retry gets it.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'The key in use.' }),
    retryable: t.exposeBoolean('retryable', {
      description: 'Always true: the same key and input will answer once the earlier request is done.',
    }),
    checkoutId: t.id({
      nullable: true,
      description:
        'Global id of the checkout the earlier request is creating (PENDING), to watch with `checkout` or `checkoutStatusChanged`; null when it is not known.',
      // The global id is encoded here rather than by loading the checkout: the answer costs no read.
      resolve: (error) =>
        error.checkoutId ? encodeGlobalID(definitionOf(error.provider).typename, error.checkoutId) : null,
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'No checkout with this id is visible to you.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The id that was asked for.' }),
  }),
});

/** Errors every create mutation can return. */
const CREATE_ERRORS = [ValidationError, ProviderError, IdempotencyKeyReuseError, IdempotencyKeyInUseError];

/**
 * The errors-plugin options of a `create<Provider>Checkout` mutation: a `<Name>Success { checkout }`
 * member and a `<Name>Result` union of it with the create errors (plus provider-specific ones).
 */
export function createCheckoutResult(name: string, extraErrors: (typeof EmptyCartError)[] = []) {
  return {
    types: [...CREATE_ERRORS, ...extraErrors],
    result: { name: `${name}Success`, description: 'The checkout was created.' },
    union: { name: `${name}Result`, description: 'The new checkout, or why it was not created.' },
    dataField: { name: 'checkout', description: 'The new checkout.' },
  };
}

/** Description of every create input's `idempotencyKey`. */
export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Your key for safe retries (1 to 255 printable characters): the same key and input return the original checkout.';
