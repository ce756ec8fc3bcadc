// Wire formats of sign-in and the caller's own account: the bodies of setup, login, refresh, logout and password
// change, and the answers (the signed-in user, login tokens, status, WebSocket ticket). Each TypeBox schema is
// the validator, the TypeScript type (server and dashboard) and the /openapi.json entry. Like every module in
// wire/, this one imports nothing but TypeBox and its siblings, so the dashboard can import its types.
import Type from 'typebox';
import { secret } from './fields.ts';

/** The auth part's password rule (PASSWORD_MIN, PASSWORD_MAX; a test keeps them equal). */
export const PASSWORD_LENGTH = { min: 10, max: 256 } as const;
export const ROLE_NAMES = ['admin', 'member'] as const;

export const RoleSchema = Type.Enum(ROLE_NAMES, {
  description: 'admin: everything; member: reads the apps granted to them',
  'x-expected': '"admin" or "member"',
});
export type Role = Type.Static<typeof RoleSchema>;

export const password = (description: string) =>
  secret(`at least ${PASSWORD_LENGTH.min} characters (and at most ${PASSWORD_LENGTH.max})`, {
    minLength: PASSWORD_LENGTH.min,
    maxLength: PASSWORD_LENGTH.max,
    description,
  });

/** Checked in full when the address is stored (trimmed, lower-cased, name@domain). */
const email = Type.String({ description: 'Email address', 'x-expected': 'an address like name@example.com' });

const session = Type.Optional(
  Type.Enum(['token', 'cookie'], {
    default: 'token',
    description: '"cookie" for browsers: the tokens as HttpOnly cookies plus a CSRF cookie, not in the body',
    'x-expected': '"token" or "cookie"',
  }),
);

export const User = Type.Object(
  { id: Type.Integer(), email: Type.String(), role: RoleSchema },
  { $id: 'User', description: 'A signed-in person' },
);
export type User = Type.Static<typeof User>;

export const Me = Type.Object(
  {
    id: Type.Integer(),
    email: Type.String(),
    role: RoleSchema,
    apps: Type.Array(Type.String(), { description: 'ids of the apps this user can see' }),
  },
  { $id: 'Me' },
);
export type Me = Type.Static<typeof Me>;

export const AuthStatus = Type.Object(
  {
    setupRequired: Type.Boolean({ description: 'true until the first admin exists' }),
    user: Type.Union([User, Type.Null()], { description: 'who is signed in; null when nobody is' }),
  },
  { $id: 'AuthStatus' },
);
export type AuthStatus = Type.Static<typeof AuthStatus>;

export const LoginAnswer = Type.Object(
  {
    accessToken: Type.Optional(Type.String({ description: 'JWT (EdDSA), 15 minutes; absent with session "cookie"' })),
    refreshToken: Type.Optional(
      Type.String({ description: '256 random bits, single use, 30 days; absent with session "cookie"' }),
    ),
    expiresIn: Type.Integer({ description: 'seconds the access token lasts' }),
    user: User,
  },
  { $id: 'LoginAnswer' },
);
export type LoginAnswer = Type.Static<typeof LoginAnswer>;

export const WsTicket = Type.Object(
  {
    ticket: Type.String({ description: 'for /ws/live?ticket=…' }),
    expiresAt: Type.Integer({ description: 'epoch ms, one minute from now' }),
  },
  { $id: 'WsTicket' },
);
export type WsTicket = Type.Static<typeof WsTicket>;

export const SetupBody = Type.Object(
  {
    token: secret('the setup token from the setup link', {
      minLength: 1,
      maxLength: 200,
      description: 'The one-time token from the setup link',
    }),
    email,
    password: password('The first admin’s password'),
    session,
  },
  { $id: 'SetupBody' },
);
export type SetupBody = Type.Static<typeof SetupBody>;

export const LoginBody = Type.Object(
  {
    email: Type.String({ description: 'Email address', 'x-expected': 'a string' }),
    password: secret('a string of at most 1024 characters', { maxLength: 1024, description: 'Password' }),
    session,
  },
  { $id: 'LoginBody' },
);
export type LoginBody = Type.Static<typeof LoginBody>;

/** Refresh and logout: the refresh token, unless the browser's cookie carries it. */
export const RefreshBody = Type.Object(
  {
    refreshToken: Type.Optional(
      secret('a string', { description: 'The refresh token; browsers leave it out and send the cookie' }),
    ),
  },
  { $id: 'RefreshBody' },
);
export type RefreshBody = Type.Static<typeof RefreshBody>;

export const PasswordChangeBody = Type.Object(
  {
    currentPassword: secret('a string', { description: 'Your password now' }),
    newPassword: password('Your new password'),
  },
  { $id: 'PasswordChangeBody' },
);
export type PasswordChangeBody = Type.Static<typeof PasswordChangeBody>;
