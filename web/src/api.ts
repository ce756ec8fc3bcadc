// Calls to m3w's API with the session cookies: the CSRF header on every state-changing call, one refresh and
// retry on a 401, and the error envelope turned into an ApiFailure with a message a person can read.
import type { ErrorEnvelope } from '../../src/wire/errors.ts';

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
  // Signing in sets the CSRF cookie and signing out clears it: without one there is no login to refresh, and
  // asking anyway only puts a 401 in the console.
  if (csrfToken() === '') return Promise.resolve(false);
  refreshing ??= send('POST', '/api/v1/auth/refresh', {})
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => setTimeout(() => (refreshing = null), 0));
  return refreshing;
}

/** The error envelope of a refused request, read warily: a proxy's error page may carry none of it. */
export type ApiError = { error?: Partial<ErrorEnvelope['error']> };

async function failure(res: Response): Promise<ApiFailure> {
  try {
    const e = ((await res.json()) as ApiError).error;
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

// The server's wire types, imported rather than copied: type-only, so they are erased from the bundle and no
// server code reaches the browser (src/wire/ and the leaf type modules import nothing but TypeBox).
export type { AuthStatus, LoginBody, Me, PasswordChangeBody, SetupBody, User } from '../../src/wire/accounts.ts';
export type {
  ApiKey,
  ApiKeyList,
  ApiKeyUpdateBody,
  App,
  AppList,
  AppRenameBody,
  NewApiKey,
  NewApiKeyBody,
  NewAppBody,
} from '../../src/wire/apps.ts';
export type {
  AlertEvent,
  AlertEventList,
  AlertRule,
  AlertRuleList,
  Channel as NotificationChannel,
  ChannelList as NotificationChannelList,
  ChannelTestAnswer,
  Notification as AlertNotification,
} from '../../src/wire/alerts.ts';
export type { AuditEntry, AuditPage, GuestToken, GuestTokenBody } from '../../src/wire/audit.ts';
export type { PlaybackGrant } from '../../src/wire/playback.ts';
export type { Room, RoomInvite, RoomPlaybackGrant } from '../../src/wire/rooms.ts';
export type {
  ChatMessage,
  MemberPresence,
  MinuteFigures,
  RoomCommand,
  RoomServerMessage,
  RoomStats,
  RoomView,
} from '../../src/wire/room-socket.ts';
export type { OverviewUpdate, VideoUpdate } from '../../src/wire/live-topics.ts';
export type { HealthDetails, ServerInfo } from '../../src/wire/server.ts';
export type { SessionDetail, SessionPage, SessionRow } from '../../src/wire/sessions.ts';
export type { Rendition, Video, VideoList, VideoRetryAnswer } from '../../src/wire/videos.ts';
export type { NewUserBody, UserList, UserPatchBody, UserRecord } from '../../src/wire/users.ts';
export type {
  ActiveCounts,
  ChannelMoments,
  Moment,
  MomentList,
  QoeBreakdown,
  QoeBreakdownRow,
  QoePoint as Point,
  QoeSeries,
  QoeSummary,
  QoeSummaryPeriod,
  StreamPoint,
  StreamSeries,
} from '../../src/wire/analytics.ts';
