import type {
  CheckoutProvider,
  CreatePayerVaultCheckoutInput,
  CreateSmartCheckoutInput,
  CreateStanCheckoutInput,
} from './gql/graphql.js';
import { AmountError, formatMoney, parseAmount, stanTotals } from './money.js';

/** A problem with one field: `path` as the API names it without the leading "input" (e.g. `lineItems.0.quantity`). */
export interface FieldProblem {
  path: string;
  message: string;
}

/** The create input the form holds for its provider, or the fields the page itself refuses. */
export type FormReading =
  | { provider: 'SMARTCHECKOUT'; input: CreateSmartCheckoutInput }
  | { provider: 'PAYERVAULT'; input: CreatePayerVaultCheckoutInput }
  | { provider: 'STAN'; input: CreateStanCheckoutInput }
  | { provider: CheckoutProvider; problems: FieldProblem[] };

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * The order form: the provider select shows that provider's fieldset; Stan's line items are
 * added and removed in place and its totals recomputed on every keystroke, in STAN_CURRENCY.
 */
export class OrderForm {
  readonly form = byId<HTMLFormElement>('buy-form');
  private readonly provider = byId<HTMLSelectElement>('provider');
  private readonly lines = byId<HTMLTableSectionElement>('lines');
  private readonly template = byId<HTMLTemplateElement>('line-template');
  private readonly problem = byId<HTMLParagraphElement>('problem');

  constructor(private readonly stanCurrency: string) {
    this.provider.addEventListener('change', () => this.showProvider());
    byId('add-line').addEventListener('click', () => this.addLine(true));
    this.lines.addEventListener('click', (event) => {
      const remove = (event.target as HTMLElement).closest('[data-testid="remove-line"]');
      if (remove) this.removeLine(remove.closest('tr')!);
    });
    this.form.querySelector('fieldset[data-provider="STAN"]')!.addEventListener('input', () => this.showStanTotals());
    this.addLine(false);
    this.showProvider();
  }

  get selected(): CheckoutProvider {
    return this.provider.value as CheckoutProvider;
  }

  /** Reads the selected provider's fields into its create input (Stan: with the totals it computed). */
  read(): FormReading {
    const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
    switch (this.selected) {
      case 'SMARTCHECKOUT':
        return { provider: 'SMARTCHECKOUT', input: { productUrl: value('product-url'), email: value('email') } };
      case 'PAYERVAULT':
        return { provider: 'PAYERVAULT', input: { customerId: value('customer-id') } };
      case 'STAN':
        return this.readStan();
    }
  }

  /** Shows each problem under the field it names; problems naming no field go to the form's message. */
  showProblems(problems: FieldProblem[], unplaced: (problem: FieldProblem) => string = describe): void {
    this.clearProblems();
    const loose: string[] = [];
    let first: HTMLInputElement | undefined;
    for (const problem of problems) {
      const input = this.visibleField(problem.path);
      if (!input) {
        loose.push(unplaced(problem));
        continue;
      }
      const error = input.parentElement!.querySelector<HTMLElement>('.field-error')!;
      error.textContent = error.hidden ? problem.message : `${error.textContent}; ${problem.message}`;
      error.hidden = false;
      error.id ||= `error-${problem.path.replaceAll('.', '-')}`;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', error.id);
      first ??= input;
    }
    if (loose.length) this.showMessage(loose.join(' '));
    // Focus goes where the shopper has to act: the first field named, else the message.
    if (first) first.focus();
    else if (loose.length) this.problem.focus();
  }

  /** Replaces every problem shown with one message for the whole order, and moves focus to it. */
  explain(text: string): void {
    this.clearProblems();
    this.showMessage(text);
    this.problem.focus();
  }

  /** A message for the whole form (a provider's answer, an unreachable API). */
  showMessage(text: string): void {
    this.problem.textContent = text;
    this.problem.hidden = false;
  }

  clearProblems(): void {
    this.problem.hidden = true;
    this.problem.textContent = '';
    for (const error of this.form.querySelectorAll<HTMLElement>('.field-error')) {
      error.hidden = true;
      error.textContent = '';
    }
    for (const input of this.form.querySelectorAll('[aria-invalid]')) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  }

  private visibleField(path: string): HTMLInputElement | undefined {
    const fieldset = this.form.querySelector(`fieldset[data-provider="${this.selected}"]`)!;
    return fieldset.querySelector<HTMLInputElement>(`[data-path="${CSS.escape(path)}"]`) ?? undefined;
  }

  private showProvider(): void {
    for (const fieldset of this.form.querySelectorAll<HTMLFieldSetElement>('fieldset[data-provider]')) {
      fieldset.hidden = fieldset.dataset.provider !== this.selected;
    }
    this.clearProblems();
    if (this.selected === 'STAN') this.showStanTotals();
  }

  private addLine(focus: boolean): void {
    const row = this.template.content.firstElementChild!.cloneNode(true) as HTMLTableRowElement;
    this.lines.append(row);
    this.numberLines();
    if (focus) row.querySelector('input')!.focus();
    this.showStanTotals();
  }

  private removeLine(row: HTMLTableRowElement): void {
    const next = row.nextElementSibling ?? row.previousElementSibling;
    row.remove();
    this.numberLines();
    // Keep the keyboard where it was: on a neighbouring line, or on "Add an item".
    (next?.querySelector('input') ?? byId('add-line')).focus();
    this.showStanTotals();
  }

  /** Each line's inputs carry the path the API uses in its errors (`lineItems.<index>.<field>`). */
  private numberLines(): void {
    for (const [index, row] of [...this.lines.rows].entries()) {
      for (const input of row.querySelectorAll<HTMLInputElement>('input[data-field]')) {
        input.dataset.path = `lineItems.${index}.${input.dataset.field}`;
        input.setAttribute('aria-label', `${labelOf(input.dataset.field!)}, item ${index + 1}`);
      }
    }
  }

  /** Stan's lines and amounts in minor units, with what could not be read. */
  private readStanParts() {
    const problems: FieldProblem[] = [];
    const amount = (text: string, path: string): bigint => {
      if (!text.trim()) return 0n;
      try {
        return parseAmount(text, this.stanCurrency);
      } catch (error) {
        if (!(error instanceof AmountError)) throw error;
        problems.push({ path, message: error.message });
        return 0n;
      }
    };
    const count = (text: string, path: string): bigint => {
      if (!text.trim()) return 0n;
      if (/^\d{1,9}$/.test(text.trim())) return BigInt(text.trim());
      problems.push({ path, message: 'must be a whole number' });
      return 0n;
    };
    const lines = [...this.lines.rows].map((row, index) => {
      const field = (name: string) => row.querySelector<HTMLInputElement>(`[data-field="${name}"]`)!.value;
      return {
        productId: field('productId').trim(),
        quantity: count(field('quantity'), `lineItems.${index}.quantity`),
        unitPrice: amount(field('unitPrice'), `lineItems.${index}.unitPrice`),
      };
    });
    const discount = amount(byId<HTMLInputElement>('discount').value, 'discountAmount');
    const taxRate = count(byId<HTMLInputElement>('tax-rate').value, 'taxRate');
    return { lines, discount, taxRate, totals: stanTotals(lines, discount, taxRate), problems };
  }

  private readStan(): FormReading {
    const { lines, discount, taxRate, totals, problems } = this.readStanParts();
    if (problems.length) return { provider: 'STAN', problems };
    return {
      provider: 'STAN',
      input: {
        // Stan sends the shopper back here after paying.
        returnUrl: `${location.origin}/?returned=stan`,
        lineItems: lines.map((line) => ({
          productId: line.productId,
          quantity: Number(line.quantity),
          unitPrice: Number(line.unitPrice),
        })),
        ...(discount > 0n ? { discountAmount: Number(discount) } : {}),
        ...(taxRate > 0n ? { taxRate: Number(taxRate) } : {}),
        // Sent so that the API checks them against the lines: a page that computed another total fails loudly.
        subtotalAmount: Number(totals.subtotal),
        totalAmount: Number(totals.total),
      },
    };
  }

  /** The totals shown under Stan's lines, from what is typed so far ("–" while a field is unreadable). */
  private showStanTotals(): void {
    const { totals, problems } = this.readStanParts();
    for (const part of ['subtotal', 'discount', 'tax', 'total'] as const) {
      const cell = this.form.querySelector(`[data-testid="stan-${part}"]`)!;
      cell.textContent = problems.length ? '–' : formatMoney(totals[part], this.stanCurrency);
    }
  }
}

function labelOf(field: string): string {
  return (
    ({ productId: 'Product id', quantity: 'Quantity', unitPrice: 'Unit price' } as Record<string, string>)[field] ??
    field
  );
}

function describe(problem: FieldProblem): string {
  return `${problem.path}: ${problem.message}.`;
}
