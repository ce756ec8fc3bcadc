// Calls to m3w's API with the session cookies: the CSRF header on every state-changing call, one refresh and
// retry on a 401, and the error envelope turned into an ApiFailure with a message a person can read.
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown when the session has ended and refreshing it failed: the app shows the login page. */
export class SignedOut extends Error {}

let onSignedOut: () => void = () => {};
export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

function csrfToken(): string {
  const m = /(?:^|;\s*)m3w_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

let refreshing: Promise<boolean> | null = null;
/** One refresh at a time: several calls that got 401 together share it. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= send('POST', '/api/v1/auth/refresh', {})
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => setTimeout(() => (refreshing = null), 0));
  return refreshing;
}

async function failure(res: Response): Promise<ApiFailure> {
  try {
    const e = ((await res.json()) as { error?: { code?: string; message?: string } }).error;
    return new ApiFailure(res.status, e?.code ?? 'HTTP_' + res.status, e?.message ?? res.statusText);
  } catch {
    return new ApiFailure(res.status, 'HTTP_' + res.status, `the server answered ${res.status}`);
  }
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  let res = await send(method, path, body);
  if (res.status === 401 && !path.startsWith('/api/v1/auth/')) {
    if (await refreshSession()) res = await send(method, path, body);
    if (res.status === 401) {
      onSignedOut();
      throw new SignedOut('signed out');
    }
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

// Wire shapes of the routes the dashboard calls (accounts, analytics engine, this issue).
export interface User {
  id: number;
  email: string;
  role: 'admin' | 'member';
}
export interface Me extends User {
  apps: string[];
}
export interface AuthStatus {
  setupRequired: boolean;
  user: User | null;
}
export interface AppInfo {
  id: string;
  name: string;
  createdAt: number;
}
export interface KeyRecord {
  prefix: string;
  name: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  expiresAt: number | null;
  rateLimit: number | null;
}
export interface ServerInfo {
  version: string;
  port: number;
  urls: string[];
  ingestUrl: string;
  webhookUrl: string;
}
export interface Point {
  t: number;
  value: number | null;
}
/** An anomaly found by the analytics engine (src/engine/moments.ts). */
export interface Moment {
  id: number;
  kind: 'spike' | 'drop';
  metric: string;
  dimension: string;
  value: string;
  startedAt: number;
  /** End of its last minute. */
  endedAt: number;
  peakValue: number;
  baseline: number;
  zScore: number;
  threshold: number;
  appId: string | null;
}
