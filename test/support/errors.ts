import { expect } from 'vitest';
import { ProviderError } from '../../src/domain/errors.js';

/** What `promise` rejects with; throws when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The ProviderError `promise` rejects with (failing the test on a result or any other error). */
export async function providerErrorOf(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}
