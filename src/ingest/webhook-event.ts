// Streaming-server webhook events (Flussonic / Wowza style play_started and play_closed): the wire schema
// published in /openapi.json, and the per-event validation that lets one bad event be rejected while the rest
// of its batch is stored (a media server that gets a 4xx for a whole batch resends it forever).
import Type from 'typebox';
import { normalizeCountryCode } from './countries.ts';
import { describeValue } from '../tools/field-issues.ts';
import { depthExceeds, MAX_UNKNOWN_DEPTH, parseIsoDateTime } from './session-summary.ts';
import { classifyUserAgent, type DeviceClass } from './user-agent.ts';

export const PLAY_EVENT_TYPES = ['play_started', 'play_closed'] as const;
export type PlayEventType = (typeof PLAY_EVENT_TYPES)[number];

const str = (max: number, description: string) =>
  Type.Optional(Type.Union([Type.String({ maxLength: max }), Type.Null()], { description }));
const ms = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

/** The event as media servers send it; unknown fields are kept in the raw JSON and otherwise ignored. */
export const WebhookEventSchema = Type.Object(
  {
    event: Type.Union(
      PLAY_EVENT_TYPES.map((e) => Type.Literal(e)),
      { description: 'Event type.' },
    ),
    id: Type.String({ minLength: 1, maxLength: 256, description: 'Play session id; (id, event) is idempotent.' }),
    time: str(64, 'When the event happened, ISO-8601.'),
    server: str(256, 'Media server host name.'),
    media: str(256, 'Channel (stream name).'),
    user_id: Type.Optional(
      Type.Union([Type.String({ maxLength: 256 }), Type.Integer(), Type.Null()], { description: 'Viewer id.' }),
    ),
    user_name: str(256, 'Viewer name.'),
    ip: str(64, 'Viewer address.'),
    country: str(8, 'ISO 3166-1 alpha-2 country code; anything else counts as unknown.'),
    proto: str(32, 'Delivery protocol: hls, dash, rtmp, webrtc …'),
    bytes: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Bytes sent to the viewer so far.' }),
    ),
    user_agent: str(1024, 'Player User-Agent; classified into a device class.'),
    opened_at: ms('Session start, epoch ms (defaults to `time` for play_started).'),
    closed_at: ms('Session end, epoch ms (play_closed; defaults to `time`).'),
    reason: str(256, 'Why the session closed.'),
  },
  { additionalProperties: true },
);

/** One validated, normalised event: what the store keeps and the live tracker counts. */
export interface PlayEvent {
  event: PlayEventType;
  id: string;
  server: string;
  channel: string;
  /** Upper-case ISO code, '' when absent or not a country. */
  country: string;
  protocol: string;
  device: DeviceClass;
  userId: string | null;
  userName: string | null;
  address: string | null;
  userAgent: string | null;
  openedAt: number;
  /** play_closed only. */
  closedAt: number | null;
  bytes: number | null;
  reason: string | null;
  /** The event object as sent. */
  raw: string;
}

export type PlayEventResult = { ok: true; event: PlayEvent } | { ok: false; error: string };

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// Far-future times are clock or unit errors (seconds vs ms); a day of skew is tolerated.
const MAX_FUTURE_MS = 24 * 3_600_000;

function text(o: Record<string, unknown>, field: string, max: number): string | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new Error(`${field}: expected a string or null, got ${describeValue(v)}`);
  if (v.length > max) throw new Error(`${field}: expected at most ${max} characters, got ${v.length}`);
  if (!v.isWellFormed() || CONTROL_CHARS.test(v)) throw new Error(`${field}: must be text without control characters`);
  return v;
}

function epochMs(o: Record<string, unknown>, field: string, now: number): number | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new Error(`${field}: expected epoch milliseconds (an integer ≥ 0), got ${describeValue(v)}`);
  if (v > now + MAX_FUTURE_MS)
    throw new Error(`${field}: ${v} is more than a day in the future (epoch milliseconds expected)`);
  return v;
}

/** Validates one event; `now` bounds how far in the future its times may be. */
export function validateWebhookEvent(input: unknown, now: number): PlayEventResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, error: `expected an event object, got ${describeValue(input)}` };
  const o = input as Record<string, unknown>;
  // Unknown fields are kept in `raw`; one nested thousands deep would overflow JSON.stringify's stack.
  for (const [key, value] of Object.entries(o))
    if (depthExceeds(value, MAX_UNKNOWN_DEPTH))
      return { ok: false, error: `${key}: must not be nested more than ${MAX_UNKNOWN_DEPTH} levels deep` };
  try {
    const event = o.event;
    if (typeof event !== 'string') throw new Error(`event: is required: one of ${PLAY_EVENT_TYPES.join(', ')}`);
    if (!(PLAY_EVENT_TYPES as readonly string[]).includes(event))
      throw new Error(
        `event: unknown event type ${describeValue(event)}; expected one of ${PLAY_EVENT_TYPES.join(', ')}`,
      );
    const id = text(o, 'id', 256);
    if (!id || id.trim() === '') throw new Error('id: is required: the play session id, 1 to 256 characters');
    const timeText = text(o, 'time', 64);
    let time: number | null = null;
    if (timeText !== null) {
      time = parseIsoDateTime(timeText);
      if (Number.isNaN(time))
        throw new Error(
          `time: expected an ISO-8601 date-time such as 2025-11-24T11:10:26.498Z, got ${describeValue(timeText)}`,
        );
    }
    let userId: string | null;
    if (typeof o.user_id === 'number' && Number.isSafeInteger(o.user_id)) userId = String(o.user_id);
    else userId = text(o, 'user_id', 256);
    const bytesValue = o.bytes;
    let bytes: number | null = null;
    if (bytesValue !== undefined && bytesValue !== null) {
      if (typeof bytesValue !== 'number' || !Number.isSafeInteger(bytesValue) || bytesValue < 0)
        throw new Error(`bytes: expected an integer ≥ 0, got ${describeValue(bytesValue)}`);
      bytes = bytesValue;
    }
    let openedAt = epochMs(o, 'opened_at', now);
    let closedAt: number | null = null;
    if (event === 'play_started') {
      openedAt ??= time;
      if (openedAt === null) throw new Error('opened_at: is required (or time): when the session started, epoch ms');
    } else {
      closedAt = epochMs(o, 'closed_at', now) ?? time;
      if (closedAt === null) throw new Error('closed_at: is required (or time): when the session ended, epoch ms');
      // Without a start we still know the session existed; a zero-length one if even opened_at is missing.
      openedAt ??= closedAt;
      if (closedAt < openedAt) throw new Error(`closed_at: ${closedAt} is before opened_at ${openedAt}`);
    }
    const country = text(o, 'country', 8);
    const userAgent = text(o, 'user_agent', 1024);
    return {
      ok: true,
      event: {
        event: event as PlayEventType,
        id,
        server: text(o, 'server', 256) ?? '',
        channel: text(o, 'media', 256) ?? '',
        country: country ? (normalizeCountryCode(country) ?? '') : '',
        protocol: (text(o, 'proto', 32) ?? '').toLowerCase(),
        device: classifyUserAgent(userAgent),
        userId: userId === '' ? null : userId,
        userName: text(o, 'user_name', 256),
        address: text(o, 'ip', 64),
        userAgent,
        openedAt,
        closedAt,
        bytes,
        reason: text(o, 'reason', 256),
        raw: JSON.stringify(o),
      },
    };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export interface WebhookBody {
  events: PlayEvent[];
  /** Index in the body of each entry of `events`. */
  indexes: number[];
  rejected: Array<{ index: number; error: string }>;
}

/** A body is one event or an array of them; null when it is neither (the caller answers 400). */
export function validateWebhookBody(body: unknown, now: number, maxEvents: number): WebhookBody | string {
  const items = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? [body] : null;
  if (!items) return `expected an event object or an array of events, got ${describeValue(body)}`;
  if (items.length > maxEvents) return `expected at most ${maxEvents} events per request, got ${items.length}`;
  const out: WebhookBody = { events: [], indexes: [], rejected: [] };
  items.forEach((item, index) => {
    const r = validateWebhookEvent(item, now);
    if (r.ok) {
      out.events.push(r.event);
      out.indexes.push(index);
    } else out.rejected.push({ index, error: r.error });
  });
  return out;
}
