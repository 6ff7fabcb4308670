import type {
  SandboxFaultKind,
  SandboxFaultsState,
  SandboxOperationCounters,
} from '../../src/providers/sandbox-faults.js';

/** A fault to queue on a sandbox (the body of `POST /__faults`). */
export interface FaultSpec {
  operation: string;
  fault: SandboxFaultKind;
  count?: number;
  latencyMs?: number;
  status?: number;
  retryAfterSeconds?: number;
}

/** Queues a fault on the sandbox at `sandboxUrl` (started with `faults: true`). */
export async function injectFault(sandboxUrl: string, spec: FaultSpec): Promise<void> {
  const response = await fetch(`${sandboxUrl}/__faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (response.status !== 201)
    throw new Error(`could not queue ${JSON.stringify(spec)}: HTTP ${response.status} ${await response.text()}`);
}

/** The sandbox's queued faults and request counters. */
export async function faultState(sandboxUrl: string): Promise<SandboxFaultsState> {
  const response = await fetch(`${sandboxUrl}/__faults`);
  if (response.status !== 200) throw new Error(`GET /__faults answered HTTP ${response.status}`);
  return (await response.json()) as SandboxFaultsState;
}

/** Drops every queued fault (the counters stay). */
export async function clearFaults(sandboxUrl: string): Promise<void> {
  const response = await fetch(`${sandboxUrl}/__faults`, { method: 'DELETE' });
  if (response.status !== 204) throw new Error(`DELETE /__faults answered HTTP ${response.status}`);
}

/** The counters of one operation (zero when it was never called). */
export function countersOf(state: SandboxFaultsState, operation: string): SandboxOperationCounters {
  return state.requests[operation] ?? { received: 0, processed: 0 };
}

/** One row of `checkout_events` as a raw query returns it. */
export interface EventRow {
  id: number | string;
  status: string;
  at: Date | string;
}

/**
 * What is wrong with one checkout's event history, read in id order (empty when nothing is): it
 * must start with exactly one PENDING, have ascending ids and non-decreasing timestamps, never
 * repeat a status twice in a row (an event is a change), and end on the checkout's status.
 */
export function eventHistoryProblems(events: readonly EventRow[], checkoutStatus: string): string[] {
  const problems: string[] = [];
  if (events.length === 0) return ['no events'];
  if (events[0]!.status !== 'PENDING') problems.push(`first event is ${events[0]!.status}, not PENDING`);
  const pending = events.filter((event) => event.status === 'PENDING').length;
  if (pending !== 1) problems.push(`${pending} PENDING events`);
  for (let i = 1; i < events.length; i++) {
    const previous = events[i - 1]!;
    const event = events[i]!;
    if (!(BigInt(event.id) > BigInt(previous.id)))
      problems.push(`event ids not ascending: ${previous.id} then ${event.id}`);
    if (new Date(event.at).getTime() < new Date(previous.at).getTime())
      problems.push(`event ${event.id} is older than event ${previous.id}`);
    if (event.status === previous.status) problems.push(`status ${event.status} recorded twice in a row`);
  }
  const last = events[events.length - 1]!.status;
  if (last !== checkoutStatus) problems.push(`last event is ${last} but the checkout is ${checkoutStatus}`);
  return problems;
}
