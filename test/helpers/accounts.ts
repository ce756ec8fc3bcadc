// Accounts in tests: the first admin through the real setup link, members through the real admin API,
// and a small JSON client that sends bearer tokens or keeps cookies like a browser.
import type { TestServer } from './server.ts';

export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: { id: number; email: string; role: string };
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  key?: string;
}

/** Calls the API and returns status, parsed JSON (or null) and headers. */
export async function call(ts: TestServer, method: string, path: string, opts: CallOptions = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.key) headers['x-api-key'] = opts.key;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(ts.url + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let json: Record<string, any> | null = null;
  try {
    json = text ? (JSON.parse(text) as Record<string, any>) : null;
  } catch {
    // Not JSON (a CSV export): callers read `text`.
  }
  return { status: res.status, json, text, headers: res.headers };
}

export async function setupAdmin(ts: TestServer, admin = ADMIN): Promise<Tokens> {
  const r = await call(ts, 'POST', '/api/v1/auth/setup', { body: { token: ts.server.setupToken, ...admin } });
  if (r.status !== 201) throw new Error(`setup failed: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as Tokens;
}

export async function login(ts: TestServer, email: string, password: string): Promise<Tokens> {
  const r = await call(ts, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as Tokens;
}

export async function createUser(
  ts: TestServer,
  adminToken: string,
  email: string,
  role: 'admin' | 'member',
  apps: string[] = [],
): Promise<Tokens> {
  const password = `pw-${email}-0123456789`;
  const r = await call(ts, 'POST', '/api/v1/users', { token: adminToken, body: { email, password, role } });
  if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${JSON.stringify(r.json)}`);
  for (const app of apps) {
    const g = await call(ts, 'PUT', `/api/v1/users/${r.json!.id}/apps/${app}`, { token: adminToken });
    if (g.status !== 204) throw new Error(`grant failed: ${g.status}`);
  }
  return login(ts, email, password);
}

/** A browser-like client: keeps cookies across calls and, like the dashboard, echoes the CSRF cookie. */
export class CookieClient {
  readonly jar = new Map<string, string>();
  constructor(private readonly ts: TestServer) {}

  async call(method: string, path: string, opts: { body?: unknown; csrf?: boolean } = {}) {
    const headers: Record<string, string> = {};
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (opts.csrf !== false && this.jar.has('m3w_csrf')) headers['x-csrf-token'] = this.jar.get('m3w_csrf')!;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.ts.url + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : null, headers: res.headers };
  }
}
