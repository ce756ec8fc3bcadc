// Wire formats of apps and their API keys: the app, the key (never its secret, except once in NewApiKey) and the
// bodies that create, rename and configure them.
import Type from 'typebox';
import { epochMs, epochMsOrNull, label, orNull } from './fields.ts';

/** App ids: they appear in URLs, topics and key prefixes. */
export const APP_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** The store's scopes (Scope, SCOPES); the routes' types keep the two in step. */
export const SCOPE_NAMES = ['ingest', 'read'] as const;
export const RATE_LIMIT_MAX = 1_000_000_000;
/** The auth part's MAX_KEY_ORIGINS (wire schemas import no part); test/cors.test.ts keeps them in step. */
export const KEY_ORIGINS_MAX = 20;

const appId = Type.String({
  pattern: APP_ID.source,
  description: 'Lowercase letters, digits and dashes; fixed once created',
  'x-expected': '1 to 63 lowercase letters, digits and dashes, starting with a letter or digit',
});
const ScopeSchema = Type.Enum(SCOPE_NAMES, {
  description: 'ingest: send sessions and webhook events; read: read analytics',
});
const originsExpected = `an array of at most ${KEY_ORIGINS_MAX} origins such as "https://shop.example.com" (scheme, host, optional port, no path), or ["*"] for any site`;
const AllowedOrigins = Type.Array(
  Type.String({ minLength: 1, maxLength: 300, pattern: '^\\s*(\\*|[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s@]+/?)\\s*$' }),
  {
    maxItems: KEY_ORIGINS_MAX,
    description:
      'Browser origins that may send sessions with this key (CORS on POST /v1/sessions), or "*" for any; empty: no browser page may use it',
    'x-expected': originsExpected,
  },
);
const scopesExpected = `a non-empty array of ${SCOPE_NAMES.map((s) => `"${s}"`).join(', ')}`;

export const App = Type.Object(
  { id: appId, name: Type.String(), createdAt: epochMs('When the app was created') },
  { $id: 'App' },
);
export type App = Type.Static<typeof App>;

export const AppList = Type.Object({ apps: Type.Array(App) }, { $id: 'AppList' });
export type AppList = Type.Static<typeof AppList>;

export const ApiKey = Type.Object(
  {
    prefix: Type.String({ description: 'The visible part of the key, to list, rotate and revoke it' }),
    appId: Type.String(),
    name: Type.String(),
    scopes: Type.Array(ScopeSchema),
    createdAt: epochMs('When the key was created'),
    lastUsedAt: epochMsOrNull('When the key was last used'),
    revokedAt: epochMsOrNull('When the key was revoked'),
    expiresAt: epochMsOrNull('Set by rotation: the key works until then'),
    rateLimit: Type.Union([Type.Integer(), Type.Null()], {
      description: 'requests per window; null = the server default',
    }),
    allowedOrigins: Type.Array(Type.String(), {
      description: 'Browser origins that may use the key (CORS on POST /v1/sessions); "*" = any; empty = none',
    }),
  },
  { $id: 'ApiKey' },
);
export type ApiKey = Type.Static<typeof ApiKey>;

export const NewApiKey = Type.Intersect(
  [ApiKey, Type.Object({ key: Type.String({ description: 'the whole key: shown only this once' }) })],
  { $id: 'NewApiKey' },
);
export type NewApiKey = Type.Static<typeof NewApiKey>;

export const ApiKeyList = Type.Object({ keys: Type.Array(ApiKey) }, { $id: 'ApiKeyList' });
export type ApiKeyList = Type.Static<typeof ApiKeyList>;

export const NewAppBody = Type.Object(
  {
    id: appId,
    name: Type.Optional(
      orNull(
        label(100, 'Display name'),
        '1 to 100 characters without control characters, or null for the id',
        'Display name; defaults to the id',
      ),
    ),
  },
  { $id: 'NewAppBody' },
);
export type NewAppBody = Type.Static<typeof NewAppBody>;

export const AppRenameBody = Type.Object({ name: label(100, 'Display name') }, { $id: 'AppRenameBody' });
export type AppRenameBody = Type.Static<typeof AppRenameBody>;

export const NewApiKeyBody = Type.Object(
  {
    name: label(100, 'What the key is for'),
    scopes: Type.Optional(
      orNull(
        Type.Array(ScopeSchema, { minItems: 1 }),
        `${scopesExpected}, or null for ["ingest"]`,
        'What the key may do; defaults to ["ingest"]',
      ),
    ),
    rateLimit: Type.Optional(
      orNull(
        Type.Integer({ minimum: 1, maximum: RATE_LIMIT_MAX }),
        `an integer from 1 to ${RATE_LIMIT_MAX} requests per window, or null for the default`,
        'Requests per rate-limit window for this key; null or absent: the server default',
      ),
    ),
    allowedOrigins: Type.Optional(AllowedOrigins),
  },
  { $id: 'NewApiKeyBody' },
);
export type NewApiKeyBody = Type.Static<typeof NewApiKeyBody>;

export const ApiKeyUpdateBody = Type.Object({ allowedOrigins: AllowedOrigins }, { $id: 'ApiKeyUpdateBody' });
export type ApiKeyUpdateBody = Type.Static<typeof ApiKeyUpdateBody>;
