import type { RealtimeBus } from './pubsub.js';

/**
 * Tells open status streams when to re-read their checkout: when the bus is back after an outage
 * (changes published meanwhile never arrived) and every `intervalMs` (a message can be lost
 * without an outage, or overtaken by a read). One timer for all streams, so an idle stream costs
 * one set entry, not a timer.
 */
export class ResyncTicker {
  private readonly listeners = new Set<() => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly unlisten: () => void;

  constructor(bus: RealtimeBus, intervalMs: number) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
    this.unlisten = bus.onConnection({ up: () => this.tick() });
  }

  /** Calls `listener` on every tick until the returned function is called. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
    this.unlisten();
    this.listeners.clear();
  }

  private tick(): void {
    for (const listener of this.listeners) listener();
  }
}
