// The SessionSummary wire format (Media3Watch SDK and compatible clients): its validation and its normalisation
// into what the store keeps. One TypeBox schema (src/wire/session-summary.ts) is the validator (compiled once),
// the TypeScript type and the JSON Schema published in /openapi.json.
import { Compile } from 'typebox/compile';
import { normalizeCountryCode } from './countries.ts';
import { MAX_CUSTOM_ENTRIES, type SessionSummary, SessionSummarySchema } from '../wire/session-summary.ts';
import { describeValue, issuesFromErrors, type FieldIssue } from '../tools/field-issues.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** How deep unknown fields may nest (SDK sessions and webhook events alike). */
export const MAX_UNKNOWN_DEPTH = 16;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const validator = Compile(SessionSummarySchema);

type KnownKey = keyof typeof SessionSummarySchema.properties;

/** What ingestion hands to the store for one session. */
export interface IngestedSession {
  summary: SessionSummary;
  /** country, upper-cased; null when absent. */
  country: string | null;
  /** Epoch ms of sessionStartDateIso. */
  sessionStartMs: number;
  /** The complete JSON object as sent, unknown fields included. */
  payload: string;
}

export { type SessionSummary, SessionSummarySchema };

const KNOWN_KEYS = Object.keys(SessionSummarySchema.properties) as KnownKey[];
const KNOWN_KEY_SET: ReadonlySet<string> = new Set(KNOWN_KEYS);
const TEXT_KEYS = KNOWN_KEYS.filter((k) => {
  const s = SessionSummarySchema.properties[k] as { anyOf?: Array<{ type?: string }>; type?: string };
  return s.type === 'string' || s.anyOf?.some((x) => x.type === 'string');
});

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// ISO-8601 date-time as java.time and browsers print it; a missing zone means UTC.
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Epoch ms for an ISO-8601 date or date-time, or NaN when it does not parse or names an impossible date. */
export function parseIsoDateTime(text: string): number {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return NaN;
  const y = Number(m[1]),
    mo = Number(m[2]),
    d = Number(m[3]);
  const h = m[4] ? Number(m[4]) : 0,
    mi = m[5] ? Number(m[5]) : 0,
    s = m[6] ? Number(m[6]) : 0;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && !leap ? 28 : DAYS_IN_MONTH[mo - 1]!)) return NaN;
  if (h > 23 || mi > 59 || s > 60) return NaN;
  // Playback did not happen before 1970; this also keeps Date.UTC away from its 0–99 → 1900s mapping.
  if (y < 1970) return NaN;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let offsetMin = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (zh > 23 || zm > 59) return NaN;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  return Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms) - offsetMin * 60_000;
}

/** Whether `value` nests deeper than `limit` levels; stops looking at the limit, so it cannot overflow the stack. */
export function depthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  for (const child of Object.values(value)) if (depthExceeds(child, limit - 1)) return true;
  return false;
}

/** The hazards a schema does not express: forbidden names, runaway nesting, bad text, impossible dates. */
/** Problems with one piece of text: lone surrogates (unstorable as UTF-8) and control characters. */
function textProblem(value: string): string | null {
  if (!value.isWellFormed()) return 'must be valid Unicode text (it contains a lone surrogate)';
  if (CONTROL_CHARS.test(value)) return 'must not contain control characters';
  return null;
}

/** `custom` in full, so that its messages say exactly which entry is wrong and why. */
function customIssues(custom: unknown): FieldIssue[] {
  if (custom === null || custom === undefined) return [];
  if (typeof custom !== 'object' || Array.isArray(custom))
    return [
      {
        field: 'custom',
        message: `expected an object of string, number or boolean values, or null, got ${describeValue(custom)}`,
      },
    ];
  const entries = Object.entries(custom);
  if (entries.length > MAX_CUSTOM_ENTRIES)
    return [{ field: 'custom', message: `expected at most ${MAX_CUSTOM_ENTRIES} entries, got ${entries.length}` }];
  const issues: FieldIssue[] = [];
  for (const [key, value] of entries) {
    const field = `custom.${key}`;
    if (FORBIDDEN_KEYS.has(key)) issues.push({ field, message: 'this key is not allowed' });
    else if (key.length < 1 || key.length > 64)
      issues.push({ field: 'custom', message: `keys must be 1 to 64 characters, got ${describeValue(key)}` });
    else if (textProblem(key)) issues.push({ field, message: `the key ${textProblem(key)}` });
    else if (typeof value === 'string') {
      const problem = value.length > 256 ? 'must be at most 256 characters' : textProblem(value);
      if (problem) issues.push({ field, message: problem });
    } else if (!(typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))))
      issues.push({
        field,
        message: `expected a string (up to 256 characters), a number or a boolean, got ${describeValue(value)}`,
      });
  }
  return issues;
}

/** The rules a schema does not express: forbidden names, runaway nesting, bad text, impossible dates. */
function semanticIssues(item: Record<string, unknown>, sessionStartMs: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(item)) {
    if (FORBIDDEN_KEYS.has(key)) issues.push({ field: key, message: 'this field name is not allowed' });
    else if (!KNOWN_KEY_SET.has(key) && depthExceeds(item[key], MAX_UNKNOWN_DEPTH))
      issues.push({ field: key, message: `must not be nested more than ${MAX_UNKNOWN_DEPTH} levels deep` });
  }
  if (typeof item.sessionId === 'string' && item.sessionId.length > 0 && item.sessionId.trim() === '')
    issues.push({ field: 'sessionId', message: 'must not be blank' });
  for (const key of TEXT_KEYS) {
    const value = item[key];
    const problem = typeof value === 'string' ? textProblem(value) : null;
    if (problem) issues.push({ field: key, message: problem });
  }
  if (typeof item.sessionStartDateIso === 'string' && Number.isNaN(sessionStartMs))
    issues.push({
      field: 'sessionStartDateIso',
      message: `expected an ISO-8601 date-time between 1970 and 9999 such as 2025-01-15T10:30:00.000Z, got ${describeValue(item.sessionStartDateIso)}`,
    });
  if (typeof item.country === 'string' && normalizeCountryCode(item.country) === null)
    issues.push({
      field: 'country',
      message: `expected an assigned ISO 3166-1 alpha-2 country code such as "US", got ${describeValue(item.country)}`,
    });
  issues.push(...customIssues(item.custom));
  return issues;
}

export type ValidationResult = { ok: true; session: IngestedSession } | { ok: false; issues: FieldIssue[] };

/**
 * Validates and normalises one SessionSummary object. `sentText` is the JSON text `input` was parsed from, when it
 * was exactly that object: it is stored as the payload as it came, instead of serialising the object again.
 */
export function validateSessionSummary(input: unknown, sentText?: string): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, issues: [{ field: '(body)', message: `expected a JSON object, got ${describeValue(input)}` }] };
  const item = input as Record<string, unknown>;
  const sessionStartMs =
    typeof item.sessionStartDateIso === 'string' ? parseIsoDateTime(item.sessionStartDateIso) : Number.NaN;
  const issues = semanticIssues(item, sessionStartMs);
  if (!validator.Check(item)) {
    // Schema messages first; semantic ones only for fields the schema did not already flag. For custom the
    // semantic messages are the precise ones, so they replace the schema's.
    const hasCustom = issues.some((i) => i.field === 'custom' || i.field.startsWith('custom.'));
    const schemaIssues = issuesFromErrors(SessionSummarySchema, item, validator.Errors(item)).filter(
      (i) => !(hasCustom && (i.field === 'custom' || i.field.startsWith('custom.'))),
    );
    const flagged = new Set(schemaIssues.map((i) => i.field));
    return { ok: false, issues: [...schemaIssues, ...issues.filter((i) => !flagged.has(i.field))] };
  }
  if (issues.length > 0) return { ok: false, issues };

  const summary = item as SessionSummary;
  return {
    ok: true,
    session: {
      summary,
      country: summary.country ? summary.country.toUpperCase() : null,
      sessionStartMs,
      payload: sentText ?? JSON.stringify(item),
    },
  };
}
