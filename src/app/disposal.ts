/**
 * Everything the app opened, closed in reverse order: on stop, and on a failure half-way through
 * building (so a throwing step never leaves a database, a sandbox or a Redis connection open).
 * Node 20 has no AsyncDisposableStack, hence these few lines.
 */
export class DisposalStack {
  private readonly closers: { name: string; close: () => Promise<unknown> | unknown }[] = [];
  private disposing: Promise<void> | undefined;

  /** Registers `close` to run when the stack is disposed; returns `resource` for chaining. */
  use<T>(name: string, resource: T, close: (resource: T) => Promise<unknown> | unknown): T {
    this.closers.push({ name, close: () => close(resource) });
    return resource;
  }

  /** Registers a step with nothing to hand back (a timer, a worker). */
  defer(name: string, close: () => Promise<unknown> | unknown): void {
    this.closers.push({ name, close });
  }

  /**
   * Closes everything, last opened first. Every closer runs even when one fails; the failures are
   * reported together afterwards. Disposing twice waits for the first.
   */
  dispose(onError?: (name: string, error: unknown) => void): Promise<void> {
    this.disposing ??= (async () => {
      const failures: unknown[] = [];
      for (const { name, close } of this.closers.reverse()) {
        try {
          await close();
        } catch (error) {
          onError?.(name, error);
          failures.push(error);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, 'several resources failed to close');
    })();
    return this.disposing;
  }
}
