// Which instances on the schema hold which keys (key_fingerprints). Records are compared and written under an
// advisory lock (per schema), so two instances starting together with different keys cannot both be let in: the
// second sees the first's rows. Only rows refreshed within LIVE_MS count; the rest are of instances that died
// without removing theirs, and are pruned here. Times are the database's clock.
import type pg from 'pg';
import { q, transaction } from './database.ts';

/** First key of the lock ("m3w:keys"); the second is the hash of the schema. */
const KEYS_LOCK_CLASS = 0x6d33_7703;
/** An instance's rows count this long after its last refresh (it refreshes every minute while it runs). */
export const KEY_RECORD_LIVE_MS = 3 * 60_000;

export async function differingKeyFingerprints(
  pool: pg.Pool,
  instanceId: string,
  fingerprints: Readonly<Record<string, string>>,
): Promise<string[]> {
  return transaction(pool, 'differingKeyFingerprints', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [KEYS_LOCK_CLASS]);
    await c.query(`DELETE FROM key_fingerprints WHERE updated_at < now() - make_interval(secs => $1)`, [
      KEY_RECORD_LIVE_MS / 1000,
    ]);
    const others = await c.query<{ key_name: string; fingerprint: string }>(
      'SELECT key_name, fingerprint FROM key_fingerprints WHERE instance <> $1',
      [instanceId],
    );
    const differing = new Set<string>();
    for (const r of others.rows)
      if (r.key_name in fingerprints && fingerprints[r.key_name] !== r.fingerprint) differing.add(r.key_name);
    // Refused: nothing recorded, so the instances already running keep the schema's keys as they are.
    if (differing.size > 0) return [...differing].sort();
    const names = Object.keys(fingerprints);
    await c.query(
      `INSERT INTO key_fingerprints (instance, key_name, fingerprint, updated_at)
       SELECT $1, n, f, now() FROM unnest($2::text[], $3::text[]) AS u(n, f)
       ON CONFLICT (instance, key_name) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
      [instanceId, names, names.map((n) => fingerprints[n]!)],
    );
    return [];
  });
}

export async function forgetKeyFingerprints(pool: pg.Pool, instanceId: string): Promise<void> {
  await q(pool, 'forgetKeyFingerprints', 'DELETE FROM key_fingerprints WHERE instance = $1', [instanceId]);
}
