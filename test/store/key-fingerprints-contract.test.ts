// The key-fingerprint record of the Store contract, on every adapter: instances sharing a database must hold the
// same keys, so an instance starting with a different one is told which. SQLite is one process and always answers
// that nothing differs; on Postgres each store open on the schema stands for an instance, a refused instance
// records nothing, a stopped one (forgotten) or one silent for three minutes (died) no longer counts.
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { OpenedStore } from '../../src/store/index.ts';
import { TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { adapters, openTestStore, type OpenedTestStore } from '../helpers/stores.ts';

const OLD = { 'auth-ed25519.pem': 'a1', 'media-url-key': 'b1', 'alerts.key': 'c1' };
const NEW = { 'auth-ed25519.pem': 'a2', 'media-url-key': 'b1', 'alerts.key': 'c2' };

describe.each(adapters())('key fingerprints on %s', (adapter) => {
  let t: OpenedTestStore;
  let store: OpenedStore;
  beforeEach(async () => {
    t = await openTestStore(adapter);
    store = t.store;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test.runIf(adapter === 'sqlite')('SQLite: one process, nothing to differ from', async () => {
    expect(await store.differingKeyFingerprints('a', OLD)).toEqual([]);
    expect(await store.differingKeyFingerprints('b', NEW)).toEqual([]);
    await store.forgetKeyFingerprints('a');
  });

  test.runIf(adapter === 'postgres')(
    'Postgres: an instance with other keys is told which, until the instances holding the old ones stop',
    async () => {
      const other = await t.another();
      try {
        expect(await store.differingKeyFingerprints('a', OLD)).toEqual([]);
        // Another instance with the same keys joins; the first one's refresh still agrees.
        expect(await other.differingKeyFingerprints('b', { ...OLD })).toEqual([]);
        expect(await store.differingKeyFingerprints('a', OLD)).toEqual([]);
        // One with two new keys is refused, naming both (sorted), and records nothing.
        expect(await other.differingKeyFingerprints('c', NEW)).toEqual(['alerts.key', 'auth-ed25519.pem']);
        expect(await other.differingKeyFingerprints('d', OLD)).toEqual([]);
        // 'a' restarting with new keys (a new instance id) while 'b' and 'd' still run: refused.
        await store.forgetKeyFingerprints('a');
        expect(await store.differingKeyFingerprints('a2', NEW)).toEqual(['alerts.key', 'auth-ed25519.pem']);
        // Every instance stopped: the new keys are the schema's now, and the old ones are refused.
        await other.forgetKeyFingerprints('b');
        await other.forgetKeyFingerprints('d');
        expect(await store.differingKeyFingerprints('a2', NEW)).toEqual([]);
        expect(await other.differingKeyFingerprints('e', OLD)).toEqual(['alerts.key', 'auth-ed25519.pem']);
      } finally {
        await other.close();
      }
    },
  );

  test.runIf(adapter === 'postgres')(
    'Postgres: the record of an instance unheard for three minutes (it died) no longer counts',
    async () => {
      expect(await store.differingKeyFingerprints('a', OLD)).toEqual([]);
      expect(await store.differingKeyFingerprints('b', NEW)).toEqual(['alerts.key', 'auth-ed25519.pem']);
      const db = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${t.schema}"` });
      await db.connect();
      try {
        // Two minutes of silence: still live.
        await db.query("UPDATE key_fingerprints SET updated_at = now() - interval '2 minutes'");
        expect(await store.differingKeyFingerprints('b', NEW)).toEqual(['alerts.key', 'auth-ed25519.pem']);
        await db.query("UPDATE key_fingerprints SET updated_at = now() - interval '3 minutes 5 seconds'");
        expect(await store.differingKeyFingerprints('b', NEW)).toEqual([]);
        // The dead instance's rows were pruned; the live one's are recorded.
        const rows = await db.query('SELECT instance, key_name, fingerprint FROM key_fingerprints ORDER BY key_name');
        expect(rows.rows).toEqual([
          { instance: 'b', key_name: 'alerts.key', fingerprint: 'c2' },
          { instance: 'b', key_name: 'auth-ed25519.pem', fingerprint: 'a2' },
          { instance: 'b', key_name: 'media-url-key', fingerprint: 'b1' },
        ]);
      } finally {
        await db.end();
      }
    },
  );
});
