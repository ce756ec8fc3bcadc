// The durability contract on Postgres, with a real process and a real crash: every session whose POST was answered
// 200 is in the database after `kill -9` in the middle of concurrent ingestion, and a request (one transaction of
// the group commit) is stored whole or not at all. The server is the bundled m3w (bin/m3w.js) on DATABASE_URL.
import { rmSync } from 'node:fs';
import pg from 'pg';
import { expect, test } from 'vitest';
import { spawnServer, type ServerProcess } from '../helpers/child.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { makeTempDir, recentSdkSession } from '../helpers/server.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';

const API_KEY = 'pg-crash-durability-key-012345678'; // visible ASCII, 8–256 characters
const WORKERS = 16;
const KILL_AFTER_MS = [1200, 1700];

async function storedIds(schema: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const r = await client.query<{ session_id: string }>(`SELECT session_id FROM "${schema}".sessions`);
    return new Set(r.rows.map((x) => x.session_id));
  } finally {
    await client.end();
  }
}

test.skipIf(!needs('postgres'))(
  'every acknowledged session survives kill -9 mid-ingestion; no request is torn',
  async () => {
    const dir = makeTempDir('m3w-pg-crash-');
    const schema = testSchemaName();
    const env = {
      M3W_API_KEY: API_KEY,
      RATE_LIMIT_REQUESTS: '1000000000',
      DATABASE_URL: TEST_DATABASE_URL,
      M3W_POSTGRES_SCHEMA: schema,
    };
    const everAcked = new Set<string>();
    let server: ServerProcess = await spawnServer({ cwd: dir, env });
    try {
      for (let round = 0; round < KILL_AFTER_MS.length; round++) {
        const acked: string[] = [];
        const unexpected: string[] = [];
        const inFlight = new Map<number, string[]>();
        let killed = false;
        let seq = 0;
        const worker = async (w: number) => {
          while (!killed) {
            const n = ++seq;
            const size = n % 3 === 0 ? 1 : 2 + (n % 7);
            const ids = Array.from({ length: size }, (_, i) => `pgcrash-r${round}-w${w}-n${n}-i${i}`);
            const sessions = ids.map((sessionId) => recentSdkSession(sessionId, n));
            inFlight.set(n, ids);
            try {
              const res = await fetch(`${server.url}/v1/sessions`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
                body: JSON.stringify(size === 1 ? sessions[0] : sessions),
                signal: AbortSignal.timeout(15_000),
              });
              if (res.status === 200) acked.push(...ids);
              else unexpected.push(`HTTP ${res.status}: ${await res.text().catch(() => '')}`);
              await res.arrayBuffer().catch(() => undefined);
            } catch (err) {
              if (!killed) unexpected.push(`request failed before the kill: ${String((err as Error).cause ?? err)}`);
              return;
            } finally {
              inFlight.delete(n);
            }
          }
        };
        const loops = Array.from({ length: WORKERS }, (_, w) => worker(w));
        await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS[round]));
        killed = true;
        const inFlightAtKill = [...inFlight.values()];
        server.proc.kill('SIGKILL');
        await Promise.all(loops);
        expect(await server.exited).toBe('SIGKILL');
        expect(unexpected, `round ${round}`).toEqual([]);
        expect(acked.length, `round ${round} acknowledged`).toBeGreaterThan(20);
        expect(inFlightAtKill.length, `round ${round} requests in flight at the kill`).toBeGreaterThan(0);
        for (const id of acked) everAcked.add(id);

        const stored = await storedIds(schema);
        const lost = [...everAcked].filter((id) => !stored.has(id));
        expect(lost.slice(0, 10), `round ${round}: ${lost.length} of ${everAcked.size} lost`).toEqual([]);
        const torn = inFlightAtKill.filter((ids) => {
          const absent = ids.filter((id) => !stored.has(id)).length;
          return absent !== 0 && absent !== ids.length;
        });
        expect(torn, `round ${round}: requests torn by the crash`).toEqual([]);
        server = await spawnServer({ cwd: dir, env });
      }
      server.proc.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) {
        server.proc.kill('SIGKILL');
        await server.exited;
      }
      rmSync(dir, { recursive: true, force: true });
      await dropSchema(schema);
    }
  },
  60_000,
);
