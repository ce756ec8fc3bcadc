// Wire formats of the audit log (one entry, one page) and of guest tokens (the body that asks for one, the token).
import Type from 'typebox';
import { epochMs, label, orNull } from './fields.ts';

/** The auth part's guest-token rules (GUEST_RESOURCE, GUEST_DEFAULT_TTL_SEC, GUEST_MAX_TTL_SEC; a test keeps them equal). */
export const GUEST_TOKEN_RULES = {
  resource: /^(room|video):[A-Za-z0-9_-]{1,64}$/,
  defaultTtlSec: 12 * 3600,
  maxTtlSec: 7 * 24 * 3600,
} as const;

export const AuditEntry = Type.Object(
  {
    id: Type.Integer({ description: 'increasing; page with before=<id>' }),
    at: epochMs('When it happened'),
    action: Type.String({ description: 'e.g. login_failed, key_created, role_changed' }),
    actorId: Type.Union([Type.Integer(), Type.Null()], { description: 'the user who did it; null for the CLI' }),
    actorEmail: Type.Union([Type.String(), Type.Null()]),
    address: Type.Union([Type.String(), Type.Null()], { description: 'client address' }),
    target: Type.Union([Type.String(), Type.Null()], { description: 'e.g. user:2, key:m3w_ab12, app:tv' }),
    detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  },
  { $id: 'AuditEntry' },
);
export type AuditEntry = Type.Static<typeof AuditEntry>;

/** GET /api/v1/audit's query: a page of entries, newest first. */
export const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'entries per page' })),
  before: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'entries older than this id: the nextBefore of the previous page',
    }),
  ),
});
export type AuditQuery = Type.Static<typeof AuditQuery>;

export const AuditPage = Type.Object(
  {
    entries: Type.Array(AuditEntry, { description: 'newest first' }),
    nextBefore: Type.Union([Type.Integer(), Type.Null()], { description: 'the next page: before=<nextBefore>' }),
  },
  { $id: 'AuditPage' },
);
export type AuditPage = Type.Static<typeof AuditPage>;

const { resource, defaultTtlSec, maxTtlSec } = GUEST_TOKEN_RULES;

export const GuestTokenBody = Type.Object(
  {
    resource: Type.String({
      pattern: resource.source,
      description: 'The one room or video the guest may use',
      'x-expected': '"room:<id>" or "video:<id>" (id: 1 to 64 letters, digits, _ or -)',
    }),
    ttlSeconds: Type.Optional(
      orNull(
        Type.Integer({ minimum: 60, maximum: maxTtlSec, default: defaultTtlSec }),
        `an integer from 60 to ${maxTtlSec} (7 days)`,
        'How long the token works; defaults to 12 hours',
      ),
    ),
    displayName: Type.Optional(
      orNull(
        label(64, 'The guest’s name'),
        '1 to 64 characters without control characters',
        'The name others see; defaults to "Guest"',
      ),
    ),
  },
  { $id: 'GuestTokenBody' },
);
export type GuestTokenBody = Type.Static<typeof GuestTokenBody>;

export const GuestToken = Type.Object(
  { token: Type.String(), expiresAt: epochMs('When the token stops working') },
  { $id: 'GuestToken' },
);
export type GuestToken = Type.Static<typeof GuestToken>;

export const GuestTokenRevokeBody = Type.Object(
  {
    token: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'The guest token to revoke, as it was issued',
      'x-expected': 'a guest token issued by this server',
    }),
  },
  { $id: 'GuestTokenRevokeBody' },
);
export type GuestTokenRevokeBody = Type.Static<typeof GuestTokenRevokeBody>;
