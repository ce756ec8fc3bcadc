// Every database call of the SQLite adapter goes through here, so that any failure (closed connection,
// full disk, corruption) reaches the HTTP layer as a StoreError (503), never as a raw driver error.
import { StoreError } from '../types.ts';

export function run<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new StoreError(`${operation} failed: ${(err as Error).message}`, { cause: err });
  }
}
