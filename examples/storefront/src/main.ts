import {
  ApiRequestError,
  createLiveClient,
  persistedQuery,
  request,
  subscribeOverSse,
  type ConnectionState,
  type SubscriptionSink,
} from './api.js';
import { readConfig } from './config.js';
import { explainProblem, FINAL_STATUSES, type CreateProblem } from './explain.js';
import { OrderForm, type FieldProblem, type FormReading } from './forms.js';
import type { CreateProblemFragment } from './gql/graphql.js';
import {
  BuyPayerVaultCheckoutDocument,
  BuySmartCheckoutDocument,
  BuyStanCheckoutDocument,
  RecentCheckoutsDocument,
  WatchCheckoutDocument,
} from './operations.js';
import { CheckoutPanel, RecentList, type CheckoutView } from './view.js';

/*
 * The storefront: one form per provider, then the checkout's live status over graphql-ws (or SSE
 * with `?live=sse`), and the recent checkouts, each row kept current by its own subscription (one
 * WebSocket for all). Every document goes by hash (see api.ts).
 */

const RECENT_COUNT = 8;
const config = readConfig();
const form = new OrderForm(config.stanCurrency);
const panel = new CheckoutPanel();
const known = new Map<string, CheckoutView>();
const recent = new RecentList((id) => {
  const checkout = known.get(id);
  if (checkout) panel.show(checkout, true);
});
/** Open subscriptions by checkout id; each ends by itself after a final status. */
const watching = new Map<string, () => void>();

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live updates on',
  reconnecting: 'Connection to the API lost: reconnecting… The page catches up when it is back.',
  refused: 'Live updates refused: the API does not accept the storefront’s key (STOREFRONT_API_KEY).',
};
const connection = document.querySelector('[data-testid="connection"]') as HTMLElement;
const showState = (state: ConnectionState) => {
  connection.textContent = CONNECTION_TEXT[state];
  connection.dataset.state = state;
};
/** SSE opens one stream per subscription when it starts: there is no connection to wait for. */
const overSse = new URLSearchParams(window.location.search).get('live') === 'sse';

const live = overSse
  ? undefined
  : createLiveClient(config, {
      onState: showState,
      // graphql-ws has resubscribed every open subscription (each starts with the current state);
      // the list is read again for checkouts made while the page was away.
      onReconnected: () => void loadRecent(),
    });
if (overSse) showState('live');

/** Follows one checkout over the chosen transport; returns the unsubscribe. */
function subscribeToCheckout(id: string, sink: SubscriptionSink<{ checkoutStatusChanged: CheckoutView }>): () => void {
  if (!live) return subscribeOverSse(config, WatchCheckoutDocument, { id }, sink);
  return live.subscribe<{ checkoutStatusChanged: CheckoutView }>(
    // By hash, like every request of the page; graphql-ws requires a `query` field, left empty.
    { query: '', variables: { id }, extensions: persistedQuery(WatchCheckoutDocument) },
    { ...sink, next: ({ data }) => data && sink.next(data) },
  );
}

function apply(checkout: CheckoutView): void {
  known.set(checkout.id, checkout);
  recent.upsert(checkout);
  panel.update(checkout);
}

function watch(checkout: CheckoutView): void {
  if (watching.has(checkout.id) || FINAL_STATUSES.has(checkout.status)) return;
  const id = checkout.id;
  const stop = subscribeToCheckout(id, {
    next: (data) => apply(data.checkoutStatusChanged),
    error: () => watching.delete(id),
    complete: () => watching.delete(id),
  });
  watching.set(id, stop);
}

async function loadRecent(): Promise<void> {
  try {
    const { checkouts } = await request(config, RecentCheckoutsDocument, { first: RECENT_COUNT });
    const nodes = checkouts.edges.map((edge) => edge.node);
    for (const checkout of nodes) known.set(checkout.id, checkout);
    recent.replace(nodes);
    // Over SSE each subscription holds an HTTP connection, and a browser opens at most six per
    // server (HTTP/1.1): only the checkout being bought is followed there, not every row.
    if (!overSse) for (const checkout of nodes) watch(checkout);
  } catch (error) {
    form.showMessage(error instanceof ApiRequestError ? error.message : String(error));
  }
}

/** The create's result union, whatever the provider. */
type CreateResult = { __typename: `Create${string}Success`; checkout: CheckoutView } | CreateProblemFragment;

function create(reading: Exclude<FormReading, { problems: FieldProblem[] }>, key: string): Promise<CreateResult> {
  switch (reading.provider) {
    case 'SMARTCHECKOUT':
      return request(config, BuySmartCheckoutDocument, { input: { ...reading.input, idempotencyKey: key } }).then(
        (data) => data.createSmartCheckout,
      );
    case 'PAYERVAULT':
      return request(config, BuyPayerVaultCheckoutDocument, { input: { ...reading.input, idempotencyKey: key } }).then(
        (data) => data.createPayerVaultCheckout,
      );
    case 'STAN':
      return request(config, BuyStanCheckoutDocument, { input: { ...reading.input, idempotencyKey: key } }).then(
        (data) => data.createStanCheckout,
      );
  }
}

/**
 * One idempotency key per order: sending the same input again (a second click, a retry after
 * the network failed) reuses it, so the API never buys twice; a changed order gets a new one.
 */
let lastAttempt: { input: string; key: string } | undefined;
function idempotencyKeyFor(reading: FormReading): string {
  const input = JSON.stringify(reading);
  if (lastAttempt?.input !== input) {
    const random = crypto.getRandomValues(new Uint8Array(16));
    lastAttempt = {
      input,
      key: `storefront-${[...random].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`,
    };
  }
  return lastAttempt.key;
}

function showResult(result: CreateResult): void {
  if ('checkout' in result) {
    lastAttempt = undefined;
    apply(result.checkout);
    panel.show(result.checkout, true);
    watch(result.checkout);
    return;
  }
  if (result.__typename === 'ValidationError') {
    form.showProblems(
      result.fieldErrors.map((error) => ({
        path: (error.path[0] === 'input' ? error.path.slice(1) : error.path).join('.'),
        message: error.message,
      })),
    );
    return;
  }
  const problem = result as CreateProblem;
  // A failed create may leave a checkout behind (FAILED, or UNKNOWN when the provider may have acted): show and watch it.
  if (problem.__typename === 'ProviderError' && problem.leftBehind) {
    apply(problem.leftBehind);
    panel.show(problem.leftBehind);
    watch(problem.leftBehind);
  }
  form.explain(explainProblem(problem));
}

form.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const buy = form.form.querySelector<HTMLButtonElement>('[data-testid="buy"]')!;
  if (buy.disabled) return;
  const reading = form.read();
  if ('problems' in reading) return form.showProblems(reading.problems);
  form.clearProblems();
  buy.disabled = true;
  buy.setAttribute('aria-busy', 'true');
  try {
    showResult(await create(reading, idempotencyKeyFor(reading)));
  } catch (error) {
    form.explain(error instanceof ApiRequestError ? error.message : String(error));
  } finally {
    buy.disabled = false;
    buy.removeAttribute('aria-busy');
  }
});

void loadRecent();
