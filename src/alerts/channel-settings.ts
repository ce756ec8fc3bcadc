// What each kind of notification channel needs, checked with a message that names the field, and how its
// settings are shown back: secrets never whole (a URL keeps its scheme and host, a password only that it is set).
import type { ChannelType } from '../store/index.ts';

export interface WebhookSettings {
  url: string;
  /** HMAC-SHA256 key: the body is signed in X-M3W-Signature when set. */
  secret?: string;
}
export interface NtfySettings {
  /** The topic URL, e.g. https://ntfy.sh/my-topic. */
  url: string;
  /** Access token (Authorization: Bearer), for protected topics. */
  token?: string;
}
export interface EmailSettings {
  host: string;
  port: number;
  /** tls: TLS from the start (usually 465); starttls: upgrade required (usually 587); none: plain (local relays). */
  security: 'tls' | 'starttls' | 'none';
  user?: string;
  password?: string;
  from: string;
  to: string[];
}
export type ChannelSettings = (WebhookSettings | NtfySettings | EmailSettings) & {
  /** Set on channels an admin made: they may point at loopback, private and link-local addresses. */
  internal?: boolean;
};

/** The host a channel's notifications go to (a URL's hostname, or the SMTP host). */
export function targetHost(s: ChannelSettings): string {
  return 'url' in s ? new URL(s.url).hostname : (s as EmailSettings).host;
}

export class SettingsError extends Error {}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function httpUrl(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 2048) throw new SettingsError(`${field}: expected an http(s) URL`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new SettingsError(`${field}: expected an http(s) URL, got ${JSON.stringify(value.slice(0, 60))}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new SettingsError(`${field}: expected an http:// or https:// URL`);
  return u.toString();
}

function optionalString(value: unknown, field: string, max = 512): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max)
    throw new SettingsError(`${field}: expected a string of up to ${max} characters`);
  return value;
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

/** The settings of a channel of `type`, checked; throws SettingsError naming the field. */
export function parseSettings(type: ChannelType, config: unknown): ChannelSettings {
  if (!isObject(config)) throw new SettingsError('config: expected an object');
  switch (type) {
    case 'webhook':
      return { url: httpUrl(config.url, 'config.url'), secret: optionalString(config.secret, 'config.secret') };
    case 'slack':
    case 'discord':
      return { url: httpUrl(config.url, 'config.url') };
    case 'ntfy': {
      const url = config.url ?? (typeof config.topic === 'string' ? `https://ntfy.sh/${config.topic}` : undefined);
      return { url: httpUrl(url, 'config.url'), token: optionalString(config.token, 'config.token') };
    }
    case 'email': {
      const host = optionalString(config.host, 'config.host', 253);
      if (!host) throw new SettingsError('config.host: expected the SMTP server host name');
      const security = config.security ?? 'starttls';
      if (security !== 'tls' && security !== 'starttls' && security !== 'none')
        throw new SettingsError('config.security: expected "tls", "starttls" or "none"');
      const port = config.port ?? (security === 'tls' ? 465 : 587);
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
        throw new SettingsError('config.port: expected an integer from 1 to 65535');
      const from = optionalString(config.from, 'config.from', 320);
      if (!from || !EMAIL.test(from.replace(/^.*<(.*)>$/, '$1')))
        throw new SettingsError('config.from: expected a sender address');
      const toRaw = typeof config.to === 'string' ? [config.to] : config.to;
      if (!Array.isArray(toRaw) || toRaw.length < 1 || toRaw.length > 20)
        throw new SettingsError('config.to: expected 1 to 20 recipient addresses');
      for (const t of toRaw)
        if (typeof t !== 'string' || !EMAIL.test(t) || t.length > 320)
          throw new SettingsError(`config.to: ${JSON.stringify(String(t).slice(0, 60))} is not an address`);
      return {
        host,
        port,
        security,
        user: optionalString(config.user, 'config.user'),
        password: optionalString(config.password, 'config.password'),
        from,
        to: toRaw as string[],
      };
    }
  }
}

/** A URL with only its scheme and host shown: tokens in paths and queries stay hidden. */
function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…`;
}

/** The settings as the API shows them: no secret whole. */
export function redactSettings(type: ChannelType, s: ChannelSettings): Record<string, unknown> {
  switch (type) {
    case 'webhook': {
      const w = s as WebhookSettings;
      return { url: redactUrl(w.url), secret: w.secret ? '••••' : null };
    }
    case 'slack':
    case 'discord':
      return { url: redactUrl((s as WebhookSettings).url) };
    case 'ntfy': {
      const n = s as NtfySettings;
      return { url: redactUrl(n.url), token: n.token ? '••••' : null };
    }
    case 'email': {
      const e = s as EmailSettings;
      return {
        host: e.host,
        port: e.port,
        security: e.security,
        user: e.user ?? null,
        password: e.password ? '••••' : null,
        from: e.from,
        to: e.to,
      };
    }
  }
}
