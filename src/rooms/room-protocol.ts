// The watch-party wire protocol: parses and validates what a member sends (every field checked; anything else
// becomes an `error` with a code and a message naming the field), and the pure timing rules both sides share.
export const PROTOCOL_LIMITS = {
  /** Largest client frame accepted (bytes). */
  maxMessageBytes: 4096,
  /** Control messages (play/pause/seek/rate/moderation) per member per second; more get RATE_LIMIT_EXCEEDED. */
  maxControlPerSecond: 20,
  /** Any message per second beyond which the member is disconnected (4429). */
  maxMessagesPerSecond: 60,
  chatMaxChars: 500,
  chatBurst: 4,
  chatPerSecond: 1,
  /** Longest position accepted (seconds): a week, beyond any video m3w accepts. */
  maxPosition: 7 * 86_400,
  minRate: 0.25,
  maxRate: 4,
  chatHistory: 50,
} as const;

export const CONTROL_TYPES = [
  'play',
  'pause',
  'seek',
  'rate',
  'kick',
  'host',
  'lock',
  'chat-delete',
  'chat-enabled',
  'wait-for-buffering',
] as const;

export type ClientMessage =
  | { type: 'hello'; clientTime: number }
  | { type: 'ping'; clientTime: number }
  | { type: 'pong'; serverTime: number }
  | { type: 'play' | 'pause' | 'seek'; position: number }
  | { type: 'rate'; rate: number }
  | {
      type: 'state';
      position: number;
      paused: boolean;
      buffering: boolean;
      bufferedAheadMs: number;
      droppedFrames: number;
    }
  | { type: 'chat'; text: string }
  | { type: 'kick' | 'host'; memberId: string }
  | { type: 'lock'; locked: boolean }
  | { type: 'chat-delete'; messageId: number }
  | { type: 'chat-enabled' | 'wait-for-buffering'; enabled: boolean };

export type ProtocolErrorCode =
  | 'INVALID_MESSAGE'
  | 'UNKNOWN_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CHAT_DISABLED'
  | 'RATE_LIMIT_EXCEEDED';

export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new ProtocolError('INVALID_MESSAGE', message);

function finite(m: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = m[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw invalid(`${m.type}: ${field} must be a number from ${min} to ${max}`);
  return v;
}

function flag(m: Record<string, unknown>, field: string): boolean {
  const v = m[field];
  if (typeof v !== 'boolean') throw invalid(`${m.type}: ${field} must be true or false`);
  return v;
}

function memberRef(m: Record<string, unknown>): string {
  const v = m.memberId;
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(v))
    throw invalid(`${m.type}: memberId must be a member id from the members list`);
  return v;
}

/** Control characters out (newlines included: chat lines are one line), whitespace trimmed. */
export function cleanChatText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
}

/**
 * A member's name as others see it: no control or invisible formatting characters (a right-to-left override or
 * zero-width space would let a guest pass for someone else), at most 64 characters, never empty.
 */
export function cleanDisplayName(name: string): string {
  const clean = [...name.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').trim()].slice(0, 64).join('').trim();
  return clean === '' ? 'Guest' : clean;
}

const TIME_MAX = 1e14; // epoch ms far in the future; any client clock fits

/** The message a raw text frame carries, or a ProtocolError saying what is wrong with it. */
export function parseClientMessage(raw: string): ClientMessage {
  if (Buffer.byteLength(raw) > PROTOCOL_LIMITS.maxMessageBytes)
    throw new ProtocolError('PAYLOAD_TOO_LARGE', `messages are at most ${PROTOCOL_LIMITS.maxMessageBytes} bytes`);
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    throw invalid('messages must be JSON objects');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid('messages must be JSON objects');
  const o = m as Record<string, unknown>;
  const L = PROTOCOL_LIMITS;
  switch (o.type) {
    case 'hello':
    case 'ping':
      return { type: o.type, clientTime: finite(o, 'clientTime', 0, TIME_MAX) };
    case 'pong':
      return { type: 'pong', serverTime: finite(o, 'serverTime', 0, TIME_MAX) };
    case 'play':
    case 'pause':
    case 'seek':
      return { type: o.type, position: finite(o, 'position', 0, L.maxPosition) };
    case 'rate':
      return { type: 'rate', rate: finite(o, 'rate', L.minRate, L.maxRate) };
    case 'state':
      return {
        type: 'state',
        position: finite(o, 'position', 0, L.maxPosition),
        paused: flag(o, 'paused'),
        buffering: flag(o, 'buffering'),
        bufferedAheadMs: o.bufferedAheadMs === undefined ? 0 : finite(o, 'bufferedAheadMs', 0, 86_400_000),
        droppedFrames: o.droppedFrames === undefined ? 0 : finite(o, 'droppedFrames', 0, 1e9),
      };
    case 'chat': {
      if (typeof o.text !== 'string') throw invalid('chat: text must be a string');
      const text = cleanChatText(o.text);
      if (text.length === 0) throw invalid('chat: text is empty');
      if ([...text].length > L.chatMaxChars) throw invalid(`chat: text is longer than ${L.chatMaxChars} characters`);
      return { type: 'chat', text };
    }
    case 'kick':
    case 'host':
      return { type: o.type, memberId: memberRef(o) };
    case 'lock':
      return { type: 'lock', locked: flag(o, 'locked') };
    case 'chat-delete': {
      const id = o.messageId;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)
        throw invalid('chat-delete: messageId must be the id of a chat message');
      return { type: 'chat-delete', messageId: id };
    }
    case 'chat-enabled':
    case 'wait-for-buffering':
      return { type: o.type, enabled: flag(o, 'enabled') };
    default:
      throw new ProtocolError(
        'UNKNOWN_TYPE',
        `unknown message type ${JSON.stringify(String(o.type).slice(0, 40))}; see the protocol in the README`,
      );
  }
}

/**
 * How far ahead a command is scheduled: twice the slowest member's round trip, at least 500 ms (time to get
 * there and start), at most 2 s (a press must still feel like a press).
 */
export function commandLeadMs(highestRttMs: number): number {
  return Math.min(2000, Math.max(500, 2 * highestRttMs));
}

export interface TimelineState {
  position: number;
  paused: boolean;
  rate: number;
  at: number;
}

/** Where the video is at server time `t`: a playing room advances from `at` (not before it) at `rate`. */
export function positionAt(s: TimelineState, t: number): number {
  if (s.paused || t <= s.at) return s.position;
  return s.position + ((t - s.at) / 1000) * s.rate;
}
