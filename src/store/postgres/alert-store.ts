// Alert rules, notification channels, alert history and the notification outbox on Postgres: not written yet.
// Every method refuses with a StoreError that names it.
import type pg from 'pg';
import type { AlertStore } from '../alert-types.ts';
import { StoreError } from '../types.ts';

export type PostgresAlertStore = AlertStore;
export const PostgresAlertStore = function (this: unknown, _pool: pg.Pool) {
  return new Proxy(
    {},
    {
      get: (_t, name) => () => Promise.reject(new StoreError(`not yet supported on Postgres: alerts.${String(name)}`)),
    },
  );
} as unknown as new (
  pool: pg.Pool,
) => AlertStore;
