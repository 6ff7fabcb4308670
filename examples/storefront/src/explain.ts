import type { CheckoutProvider, CheckoutStatus, CreateProblemFragment } from './gql/graphql.js';

/** Provider names as shoppers read them. */
export const PROVIDER_NAMES: Record<CheckoutProvider, string> = {
  SMARTCHECKOUT: 'Smartcheckout',
  PAYERVAULT: 'PayerVault',
  STAN: 'Stan',
};

/** Statuses that never change again (the subscription completes after them). */
export const FINAL_STATUSES: ReadonlySet<CheckoutStatus> = new Set(['COMPLETED', 'FAILED', 'EXPIRED']);

/**
 * What each status means for the shopper, in words. `hasLink`: the provider gave a page to pay
 * on (PayerVault does; Stan's documented answer has no page address, only its checkout id).
 */
export function explainStatus(status: CheckoutStatus, provider: CheckoutProvider, hasLink = false): string {
  const name = PROVIDER_NAMES[provider];
  switch (status) {
    case 'PENDING':
      return `Recorded; waiting for ${name} to answer.`;
    case 'OPEN':
      return hasLink
        ? `${name} is ready: open the checkout page to pay.`
        : `${name} holds the checkout open under the reference below; it gave no page address to link to.`;
    case 'PROCESSING':
      return `${name} is buying it now. This page updates by itself.`;
    case 'COMPLETED':
      return 'Done: the purchase went through.';
    case 'FAILED':
      return `${name} could not complete the purchase. Nothing was charged.`;
    case 'EXPIRED':
      return 'This checkout expired before it was paid.';
    case 'UNKNOWN':
      return (
        `We cannot tell whether ${name} acted on this purchase: its answer never arrived. ` +
        'It is not retried automatically, so you are not charged twice; the shop checks with ' +
        `${name} and this page shows the outcome when it is recorded.`
      );
  }
}

/** A create's typed error other than a ValidationError (those are shown at their fields). */
export type CreateProblem = Exclude<CreateProblemFragment, { __typename: 'ValidationError' }>;

/** Explains a create's typed error to the shopper, in words. */
export function explainProblem(problem: CreateProblem): string {
  switch (problem.__typename) {
    case 'EmptyCartError':
      return 'This customer’s cart at PayerVault is empty: add products to the cart, then buy again.';
    case 'IdempotencyKeyReuseError':
      return 'This order was already placed with other details. Reload the page to start a new one.';
    case 'IdempotencyKeyInUseError':
      return 'This order is still being placed: wait a moment, then press Buy again to see how it went.';
    case 'ProviderError':
      return explainProviderError(problem);
    default:
      return problem.message;
  }
}

function explainProviderError(problem: Extract<CreateProblemFragment, { __typename: 'ProviderError' }>): string {
  const name = PROVIDER_NAMES[problem.provider];
  const answer = problem.httpStatus ? ` (it answered HTTP ${problem.httpStatus})` : '';
  const said = problem.providerMessage ? ` ${name} said: “${problem.providerMessage}”.` : '';
  if (problem.leftBehind?.status === 'UNKNOWN') {
    return `${name} did not answer usably${answer}, and it may have received the order. ${explainStatus('UNKNOWN', problem.provider)}${said}`;
  }
  if (problem.retryable)
    return `${name} is not available right now${answer}. Nothing was bought; try again in a moment.${said}`;
  return `${name} refused the order${answer}. Nothing was bought.${said}`;
}
