import { explainStatus, FINAL_STATUSES, PROVIDER_NAMES } from './explain.js';
import type { CheckoutViewFragment } from './gql/graphql.js';
import { formatMoney } from './money.js';

/** A checkout as the page shows it (the CheckoutView fragment). */
export type CheckoutView = CheckoutViewFragment;

const byTestId = <T extends HTMLElement>(root: ParentNode, id: string) =>
  root.querySelector(`[data-testid="${id}"]`) as T;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function totalText(checkout: CheckoutView): string {
  return checkout.total ? formatMoney(checkout.total.amount, checkout.total.currency) : 'total not known yet';
}

/** The checkout panel: live status, total, explanation, the link to pay, and the history. */
export class CheckoutPanel {
  private readonly panel = document.getElementById('checkout-panel') as HTMLElement;
  private readonly heading = document.getElementById('checkout-heading') as HTMLElement;
  /** The checkout shown, so updates of other checkouts leave the panel alone. */
  shownId: string | undefined;

  /** Shows `checkout`; `focus` moves the keyboard to the panel (after a purchase). */
  show(checkout: CheckoutView, focus = false): void {
    this.shownId = checkout.id;
    this.panel.hidden = false;
    this.panel.dataset.id = checkout.id;
    this.heading.textContent = `Your ${PROVIDER_NAMES[checkout.provider]} checkout${checkout.testMode ? ' (test mode)' : ''}`;
    const status = byTestId(this.panel, 'status');
    status.textContent = checkout.status;
    status.dataset.status = checkout.status;
    byTestId(this.panel, 'total').textContent = totalText(checkout);
    const usable =
      Boolean(checkout.checkoutUrl) && !FINAL_STATUSES.has(checkout.status) && checkout.status !== 'UNKNOWN';
    byTestId(this.panel, 'status-explanation').textContent = explainStatus(checkout.status, checkout.provider, usable);
    const reference = byTestId(this.panel, 'provider-reference');
    reference.hidden = !checkout.providerCheckoutId;
    reference.textContent = `${PROVIDER_NAMES[checkout.provider]} reference: ${checkout.providerCheckoutId ?? ''}`;
    const notes = byTestId(this.panel, 'notes');
    notes.hidden = !checkout.notes;
    notes.textContent = checkout.notes ? `Note: ${checkout.notes}` : '';
    // Only a link the shopper can still use: not once the checkout has ended.
    document.getElementById('checkout-link-slot')!.replaceChildren(...(usable ? [payLink(checkout.checkoutUrl!)] : []));
    byTestId(this.panel, 'events').replaceChildren(...checkout.events.map(eventItem));
    if (focus) this.heading.focus();
  }

  /** Applies a live update if it is about the checkout shown. */
  update(checkout: CheckoutView): void {
    if (checkout.id === this.shownId) this.show(checkout);
  }
}

function payLink(url: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.dataset.testid = 'checkout-link';
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = 'Open the checkout page (new tab)';
  return link;
}

function eventItem(event: CheckoutView['events'][number]): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.testid = 'event';
  const time = document.createElement('time');
  time.dateTime = event.at;
  time.textContent = dateTime.format(new Date(event.at));
  const what = document.createElement('strong');
  what.textContent = event.status;
  item.append(what, ` · ${event.source} · `, time);
  if (event.notes) item.append(document.createElement('br'), event.notes);
  return item;
}

/** The "Recent checkouts" list, newest first; each row updates in place. */
export class RecentList {
  private readonly list = document.querySelector('[data-testid="recent-checkouts"]') as HTMLUListElement;
  private readonly empty = document.querySelector('[data-testid="recent-empty"]') as HTMLElement;

  constructor(private readonly onOpen: (id: string) => void) {
    this.list.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('[data-testid="checkout-row"]');
      if (row?.dataset.id) this.onOpen(row.dataset.id);
    });
  }

  /** Replaces the list (the API's newest first page). */
  replace(checkouts: CheckoutView[]): void {
    this.list.replaceChildren(...checkouts.map(row));
    this.empty.hidden = checkouts.length > 0;
  }

  /** Updates a row in place, or adds it on top when it is new. */
  upsert(checkout: CheckoutView): void {
    const existing = this.list.querySelector(`[data-id="${CSS.escape(checkout.id)}"]`);
    if (existing) existing.replaceWith(row(checkout));
    else this.list.prepend(row(checkout));
    this.empty.hidden = true;
  }
}

function row(checkout: CheckoutView): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.testid = 'checkout-row';
  item.dataset.id = checkout.id;
  item.dataset.status = checkout.status;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'row';
  const provider = document.createElement('span');
  provider.textContent = PROVIDER_NAMES[checkout.provider];
  const status = document.createElement('span');
  status.className = 'badge';
  status.dataset.testid = 'row-status';
  status.dataset.status = checkout.status;
  status.textContent = checkout.status;
  const total = document.createElement('span');
  total.textContent = checkout.total ? formatMoney(checkout.total.amount, checkout.total.currency) : '–';
  const time = document.createElement('time');
  time.dateTime = checkout.createdAt;
  time.textContent = dateTime.format(new Date(checkout.createdAt));
  button.append(provider, status, total, time);
  button.setAttribute(
    'aria-label',
    `${PROVIDER_NAMES[checkout.provider]} checkout, ${checkout.status}, ${total.textContent}, ${time.textContent}: show it`,
  );
  item.append(button);
  return item;
}
