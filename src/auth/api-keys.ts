// API keys: generation, hashing, lookup with a short cache, and the bootstrap key of a fresh install.
// Keys are stored only as SHA-256 hashes (they are 192-bit random, so a slow hash adds nothing) and shown once.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, Scope, Store } from '../store/index.ts';

export const DEFAULT_APP_ID = 'default';
const CACHE_TTL_MS = 10_000;
/**
 * Instance bus topic saying that access was taken away somewhere (a key revoked, a grant removed, ...): every
 * instance that hears it drops its cached keys and re-checks its open sockets (http/access-changes.ts).
 */
export const ACCESS_CHANGED_TOPIC = 'access';
const USAGE_FLUSH_MS = 30_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: `m3w_<8 hex prefix>_<32 chars of base64url secret>`. */
export function generateApiKey(): { key: string; prefix: string } {
  const prefix = `m3w_${randomBytes(4).toString('hex')}`;
  return { key: `${prefix}_${randomBytes(24).toString('base64url')}`, prefix };
}

/** Keys chosen by people (M3W_API_KEY) get a prefix derived from their hash, so no part of them is shown. */
export function prefixForChosenKey(key: string): string {
  return `env_${hashApiKey(key).slice(0, 8)}`;
}

/**
 * The stored prefix named by a URL path segment, or null unless it is only a public prefix ("m3w_1a2b3c4d",
 * "env_1a2b3c4d" or "1a2b3c4d"): a whole key in a URL ends up in logs, proxies and browser history.
 */
export function publicPrefix(input: string): string | null {
  const m = /^(m3w_|env_)?([0-9a-f]{8})$/.exec(input);
  return m ? `${m[1] ?? 'm3w_'}${m[2]}` : null;
}

/** Accepts "m3w_1a2b3c4d", "1a2b3c4d" or a whole key, and returns the stored prefix form. */
export function normalizePrefix(input: string): string {
  const m = /^(?:m3w_)?([0-9a-f]{8})(?:_.*)?$/.exec(input.trim());
  return m ? `m3w_${m[1]}` : input.trim();
}

/** At most this many browser origins per key: a longer list is a sign that "*" or a proxy was meant. */
export const MAX_KEY_ORIGINS = 20;

/**
 * A browser origin as browsers send it in `Origin` ("https://shop.example.com", "http://127.0.0.1:5173"), or
 * "*"; null when `input` is anything else (a path, a query, credentials, another scheme). A trailing "/" and
 * upper-case host names are forgiven, so what people paste from the address bar works.
 */
export function normalizeOrigin(input: string): string | null {
  const raw = input.trim();
  if (raw === '*') return '*';
  if (!/^https?:\/\/[^/?#\s@]+\/?$/i.test(raw)) return null;
  try {
    const url = new URL(raw);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

/** The origins normalised and without repeats; throws naming the first bad one or a list that is too long. */
export function normalizeOrigins(inputs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const input of inputs) {
    const origin = normalizeOrigin(input);
    if (!origin)
      throw new RangeError(
        `${JSON.stringify(input.slice(0, 200))} is not an origin: give scheme, host and optional port, such as https://shop.example.com, with no path; or "*" for any site`,
      );
    out.add(origin);
  }
  if (out.size > MAX_KEY_ORIGINS) throw new RangeError(`at most ${MAX_KEY_ORIGINS} origins per key, got ${out.size}`);
  return [...out];
}

export interface KeySpec {
  appId: string;
  name: string;
  scopes: Scope[];
  rateLimit?: number | null;
  /** Browser origins allowed to use the key, already normalised; empty or absent: none. */
  allowedOrigins?: readonly string[];
  now?: number;
}

function newKeyRow(opts: KeySpec) {
  const { key, prefix } = generateApiKey();
  const row = {
    appId: opts.appId,
    name: opts.name,
    prefix,
    keyHash: hashApiKey(key),
    scopes: opts.scopes,
    createdAt: opts.now ?? Date.now(),
    rateLimit: opts.rateLimit ?? null,
    allowedOrigins: opts.allowedOrigins ?? [],
  };
  return { key, row };
}

export async function createApiKey(store: Store, opts: KeySpec): Promise<{ key: string; record: ApiKeyRecord }> {
  const { key, row } = newKeyRow(opts);
  return { key, record: await store.insertApiKey(row) };
}

/**
 * Replaces a key with a new one of the same name, scopes, limit and origins; the old key keeps working for
 * `graceMs` so deployed clients can be updated. Null when no active, unrotated key has that prefix.
 */
export async function rotateApiKey(
  store: Store,
  old: ApiKeyRecord,
  graceMs: number,
): Promise<{ key: string; record: ApiKeyRecord } | null> {
  const now = Date.now();
  const { key, row } = newKeyRow({
    appId: old.appId,
    name: old.name,
    scopes: old.scopes,
    rateLimit: old.rateLimit,
    allowedOrigins: old.allowedOrigins,
    now,
  });
  const record = await store.rotateApiKey(old.prefix, row, now + graceMs);
  return record ? { key, record } : null;
}

export interface Bootstrap {
  /** A key created by this start, to be shown once; null when keys already existed or one was configured. */
  createdKey: string | null;
}

/** Ensures the default app exists, the configured M3W_API_KEY works, and a fresh install has an ingest key. */
export async function ensureBootstrap(store: Store, configuredKey: string | null): Promise<Bootstrap> {
  const now = Date.now();
  await store.ensureApp(DEFAULT_APP_ID, 'Default app', now);
  if (configuredKey !== null) {
    const hash = hashApiKey(configuredKey);
    if (!(await store.findApiKeyByHash(hash)))
      await store
        .insertApiKey({
          appId: DEFAULT_APP_ID,
          name: 'M3W_API_KEY',
          prefix: prefixForChosenKey(configuredKey),
          keyHash: hash,
          scopes: ['ingest'],
          createdAt: now,
        })
        .catch(async (err: unknown) => {
          // Several instances starting together on one Postgres schema: another one inserted it first.
          if (!(await store.findApiKeyByHash(hash))) throw err;
        });
    return { createdKey: null };
  }
  const { key, row } = newKeyRow({ appId: DEFAULT_APP_ID, name: 'default ingest key', scopes: ['ingest'], now });
  return { createdKey: (await store.insertFirstApiKey(row)) ? key : null };
}

/**
 * Resolves presented keys to their records. Hits are cached briefly so that ingestion does not query the
 * database per request; a key revoked from the CLI (another process) stops working within the cache TTL.
 */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { record: ApiKeyRecord; until: number }>();
  private usage = new Map<number, number>();
  private readonly flusher: NodeJS.Timeout;

  constructor(private readonly store: Store) {
    this.flusher = setInterval(() => void this.flushUsage(), USAGE_FLUSH_MS).unref();
  }

  async authenticate(presented: string): Promise<ApiKeyRecord | null> {
    // Keyed by the presented key itself: a cache hit costs a map lookup, not a SHA-256 per request.
    const now = Date.now();
    const hit = this.cache.get(presented);
    let record: ApiKeyRecord | null;
    if (hit && hit.until > now)
      record = hit.record.expiresAt !== null && hit.record.expiresAt <= now ? null : hit.record;
    else {
      record = await this.store.findApiKeyByHash(hashApiKey(presented), now);
      if (record) this.cache.set(presented, { record, until: now + CACHE_TTL_MS });
      else this.cache.delete(presented);
      if (this.cache.size > 10_000) this.cache.clear();
    }
    if (record) this.usage.set(record.id, now);
    return record;
  }

  /** Drops cached keys, so a revocation or rotation made in this process applies at once. */
  forget(): void {
    this.cache.clear();
  }

  async flushUsage(): Promise<void> {
    if (this.usage.size === 0) return;
    const batch = [...this.usage];
    this.usage = new Map();
    await this.store.markApiKeysUsed(batch).catch(() => undefined); // last-used is advisory
  }

  async stop(): Promise<void> {
    clearInterval(this.flusher);
    await this.flushUsage();
  }
}
