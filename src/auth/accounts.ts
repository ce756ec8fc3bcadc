// Accounts: the first-run setup, logins with rotating refresh tokens, users, roles and app grants, and the
// audit trail of all of it. Routes authorise the caller; this part enforces the invariants (one setup,
// never remove the last admin, reuse of a rotated refresh token ends the whole login).
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, NewAuditEntry, Role, Store, User, UserWithHash } from '../store/index.ts';
import { AuthError } from './errors.ts';
import { LoginThrottle } from './login-throttle.ts';
import { hashPassword, passwordProblem, verifyAgainstNothing, verifyPassword } from './passwords.ts';
import { type GuestAction, guestMay, guestTokenId } from './guest-tokens.ts';
import { ACCESS_TTL_SEC, type GuestClaims, type TokenSigner } from './tokens.ts';

export const REFRESH_TTL_MS = 30 * 24 * 3600_000;
export const SETUP_TTL_MS = 3600_000;
// No spaces and no control characters (NUL, say, which Postgres cannot store in text).
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,190}$/u;
/** Password checks running at once; scrypt runs on libuv's 4 threads, so more would only queue. */
const MAX_CONCURRENT_CHECKS = 16;

export interface RequestMeta {
  address: string | null;
  userAgent?: string | null;
}

/** Who did something, for the audit log. */
export interface Actor {
  id: number | null;
  email: string | null;
  address: string | null;
}

export interface PublicUser {
  id: number;
  email: string;
  role: Role;
}

export interface LoginResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: PublicUser;
  sessionId: string;
}

export interface SignedInUser {
  user: User;
  sessionId: string;
  /** 'all' for admins; granted app ids for members. */
  apps: 'all' | string[];
}

export const publicUser = (u: User): PublicUser => ({ id: u.id, email: u.email, role: u.role });
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function normalizeEmail(input: unknown): string {
  if (typeof input !== 'string') throw new AuthError('INVALID_SCHEMA', 'email must be a string');
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email))
    throw new AuthError('INVALID_SCHEMA', 'email must be an address like name@example.com');
  return email;
}

function requirePassword(password: unknown): string {
  const problem = passwordProblem(password);
  if (problem) throw new AuthError('INVALID_SCHEMA', problem);
  return password as string;
}

export class Accounts {
  private checksInFlight = 0;
  /** Ids of WebSocket tickets already used, with their expiry. */
  private readonly usedTickets = new Map<string, number>();
  /** Told when a grant, a user or a login changed, so open WebSockets are checked again at once. */
  private readonly accessListeners = new Set<() => void>();

  /** Listens for changes that can take access away; returns the removal. */
  onAccessChange(listener: () => void): () => void {
    this.accessListeners.add(listener);
    return () => this.accessListeners.delete(listener);
  }

  private accessChanged(): void {
    for (const l of this.accessListeners) l();
  }

  /** The signed-in user behind a login now (null once revoked, expired, disabled): open WebSockets re-check. */
  signedInNow(userId: number, sessionId: string): Promise<SignedInUser | null> {
    return this.signedIn(userId, sessionId);
  }

  constructor(
    private readonly store: Store,
    readonly signer: TokenSigner,
    private readonly throttle = new LoginThrottle(),
  ) {}

  async audit(
    action: string,
    actor: Actor,
    target: string | null = null,
    detail: Record<string, unknown> | null = null,
  ): Promise<void> {
    const entry: NewAuditEntry = {
      at: Date.now(),
      action,
      actorId: actor.id,
      actorEmail: actor.email,
      address: actor.address,
      target,
      detail,
    };
    await this.store.accounts.insertAudit(entry);
  }

  async setupRequired(): Promise<boolean> {
    return (await this.store.accounts.countAdmins()) === 0;
  }

  /** A new one-hour, single-use setup token (replacing any earlier one), or null when an admin exists. */
  async issueSetupToken(): Promise<string | null> {
    if (!(await this.setupRequired())) return null;
    const token = randomBytes(24).toString('base64url');
    const now = Date.now();
    await this.store.accounts.putSetupToken(sha256(token), now, now + SETUP_TTL_MS);
    return token;
  }

  async setup(token: unknown, emailInput: unknown, passwordInput: unknown, meta: RequestMeta): Promise<LoginResult> {
    if (!(await this.setupRequired())) throw new AuthError('FORBIDDEN', 'setup is already complete; sign in instead');
    if (typeof token !== 'string' || token.length === 0 || token.length > 200)
      throw new AuthError('INVALID_SCHEMA', 'token must be the setup token from the setup link');
    const email = normalizeEmail(emailInput);
    const password = requirePassword(passwordInput);
    const now = Date.now();
    const { outcome, user } = await this.store.accounts.completeSetup(
      sha256(token),
      { email, passwordHash: await hashPassword(password), role: 'admin', createdAt: now },
      now,
    );
    if (outcome === 'already_set_up') throw new AuthError('FORBIDDEN', 'setup is already complete; sign in instead');
    if (outcome === 'invalid_token')
      throw new AuthError(
        'FORBIDDEN',
        'the setup link is invalid, used or expired; restart m3w for a new one, or run "m3w admin create"',
      );
    if (outcome === 'email_taken') throw new AuthError('INVALID_SCHEMA', 'email is already used by another user');
    await this.audit('setup_completed', { id: user!.id, email, address: meta.address }, `user:${user!.id}`);
    return this.startSession(user!, meta);
  }

  /** Creates an admin from the command line (no setup token needed: shell access is the proof). */
  async createAdmin(emailInput: unknown, passwordInput: unknown): Promise<User> {
    const email = normalizeEmail(emailInput);
    const password = requirePassword(passwordInput);
    const user = await this.store.accounts.insertUser({
      email,
      passwordHash: await hashPassword(password),
      role: 'admin',
      createdAt: Date.now(),
    });
    if (!user) throw new AuthError('INVALID_SCHEMA', `a user with email ${email} already exists`);
    await this.audit('user_created', { id: null, email: 'cli', address: null }, `user:${user.id}`, {
      role: 'admin',
      via: 'cli',
    });
    return user;
  }

  async login(emailInput: unknown, passwordInput: unknown, meta: RequestMeta): Promise<LoginResult> {
    if (typeof emailInput !== 'string' || typeof passwordInput !== 'string' || passwordInput.length > 1024)
      throw new AuthError('INVALID_SCHEMA', 'email and password must be strings');
    const email = emailInput.trim().toLowerCase().slice(0, 254);
    const address = meta.address ?? 'unknown';
    const wait = this.throttle.retryAfter(email, address);
    if (wait > 0) throw new AuthError('RATE_LIMIT_EXCEEDED', `too many failed sign-ins; retry in ${wait} s`, wait);
    // Each check costs ~32 MiB and a threadpool slot for scrypt; a flood from many addresses queues no further.
    if (this.checksInFlight >= MAX_CONCURRENT_CHECKS)
      throw new AuthError('RATE_LIMIT_EXCEEDED', 'too many sign-ins at once; retry in 1 s', 1);
    this.throttle.begin(email, address);
    this.checksInFlight += 1;
    let found: UserWithHash | null;
    let ok: boolean;
    try {
      found = await this.store.accounts.getUserByEmail(email);
      // The same work and the same answer whether the email is unknown, the password wrong or the user disabled.
      ok = found ? await verifyPassword(passwordInput, found.passwordHash) : await verifyAgainstNothing(passwordInput);
    } finally {
      this.checksInFlight -= 1;
    }
    if (!ok || !found || found.disabledAt !== null) {
      await this.audit(
        'login_failed',
        { id: found?.id ?? null, email, address: meta.address },
        found ? `user:${found.id}` : null,
      );
      throw new AuthError('UNAUTHORIZED', 'email or password is wrong');
    }
    this.throttle.succeed(email, address);
    await this.audit('login_succeeded', { id: found.id, email, address: meta.address }, `user:${found.id}`);
    return this.startSession(found, meta);
  }

  private async startSession(user: User, meta: RequestMeta): Promise<LoginResult> {
    const sessionId = randomBytes(16).toString('base64url');
    const refreshToken = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.store.accounts.createAuthSession(
      {
        id: sessionId,
        userId: user.id,
        createdAt: now,
        expiresAt: now + REFRESH_TTL_MS,
        address: meta.address,
        userAgent: meta.userAgent?.slice(0, 300) ?? null,
      },
      sha256(refreshToken),
    );
    return this.tokensFor(user, sessionId, refreshToken);
  }

  private async tokensFor(user: User, sessionId: string, refreshToken: string): Promise<LoginResult> {
    const accessToken = await this.signer.signAccess({ userId: user.id, role: user.role, sessionId });
    return { accessToken, refreshToken, expiresIn: ACCESS_TTL_SEC, user: publicUser(user), sessionId };
  }

  async refresh(refreshToken: unknown, meta: RequestMeta): Promise<LoginResult> {
    if (typeof refreshToken !== 'string' || refreshToken.length === 0 || refreshToken.length > 200)
      throw new AuthError('UNAUTHORIZED', 'a refresh token is required');
    const hash = sha256(refreshToken);
    const state = await this.store.accounts.findRefreshToken(hash);
    const now = Date.now();
    if (!state || state.session.revokedAt !== null || state.session.expiresAt <= now)
      throw new AuthError('UNAUTHORIZED', 'the refresh token is invalid or expired; sign in again');
    const user = await this.store.accounts.getUser(state.session.userId);
    if (!user || user.disabledAt !== null)
      throw new AuthError('UNAUTHORIZED', 'the refresh token is invalid or expired; sign in again');
    const next = randomBytes(32).toString('base64url');
    if (state.rotatedAt !== null || !(await this.store.accounts.rotateRefreshToken(hash, sha256(next), now))) {
      // A token that was already exchanged is being replayed: someone holds a copy. End the whole login.
      await this.store.accounts.revokeAuthSession(state.session.id, now);
      await this.audit(
        'token_family_revoked',
        { id: user.id, email: user.email, address: meta.address },
        `session:${state.session.id}`,
        {
          reason: 'refresh token reused',
        },
      );
      throw new AuthError(
        'UNAUTHORIZED',
        'this refresh token was already used; the session has been ended for safety, sign in again',
      );
    }
    return this.tokensFor(user, state.session.id, next);
  }

  /** Ends a login, found by its refresh token or its session id. */
  async logout(by: { refreshToken?: unknown; sessionId?: string }): Promise<void> {
    let sessionId = by.sessionId;
    if (sessionId === undefined && typeof by.refreshToken === 'string' && by.refreshToken.length <= 200)
      sessionId = (await this.store.accounts.findRefreshToken(sha256(by.refreshToken)))?.session.id;
    if (sessionId !== undefined) await this.store.accounts.revokeAuthSession(sessionId, Date.now());
    this.accessChanged();
  }

  /** The signed-in user behind an access token: the login must still be active and the user enabled. */
  async authenticate(accessToken: string): Promise<SignedInUser | null> {
    const claims = await this.signer.verifyAccess(accessToken);
    return claims ? this.signedIn(claims.userId, claims.sessionId) : null;
  }

  /** The guest behind `token` when it may do `action` on `resource` and has not been revoked; null otherwise. */
  async guest(token: string, action: GuestAction, resource: string): Promise<GuestClaims | null> {
    const claims = await guestMay(this.signer, token, action, resource);
    if (!claims) return null;
    return (await this.store.accounts.isGuestTokenRevoked(guestTokenId(token))) ? null : claims;
  }

  /** Whether the guest token with this id (see guestTokenId) was revoked. */
  guestTokenRevoked(tokenId: string): Promise<boolean> {
    return this.store.accounts.isGuestTokenRevoked(tokenId);
  }

  /** What a guest token grants, when it is a valid, unexpired token of this server (revoked or not). */
  guestTokenClaims(token: string): Promise<GuestClaims | null> {
    return this.signer.verifyGuest(token);
  }

  /** Revokes a guest token at once (after the caller's access check on `claims.resource`). */
  async revokeGuestToken(token: string, claims: GuestClaims): Promise<void> {
    await this.store.accounts.revokeGuestToken(guestTokenId(token), claims.resource, claims.expiresAt, Date.now());
  }

  /** A ticket opens one WebSocket: a copy seen in a log or a proxy cannot open another within its minute. */
  async authenticateWsTicket(ticket: string): Promise<SignedInUser | null> {
    const claims = await this.signer.verifyWsTicket(ticket);
    if (!claims) return null;
    const now = Date.now();
    if (this.usedTickets.has(claims.ticketId)) return null;
    // Only unexpired tickets need remembering; an expired one is refused by its signature check anyway.
    if (this.usedTickets.size > 10_000)
      for (const [id, expiresAt] of this.usedTickets) if (expiresAt <= now) this.usedTickets.delete(id);
    this.usedTickets.set(claims.ticketId, claims.expiresAt);
    return this.signedIn(claims.userId, claims.sessionId);
  }

  private async signedIn(userId: number, sessionId: string): Promise<SignedInUser | null> {
    const session = await this.store.accounts.getAuthSession(sessionId);
    if (!session || session.userId !== userId || session.revokedAt !== null || session.expiresAt <= Date.now())
      return null;
    const user = await this.store.accounts.getUser(userId);
    if (!user || user.disabledAt !== null) return null;
    return { user, sessionId, apps: user.role === 'admin' ? 'all' : await this.store.accounts.userApps(user.id) };
  }

  async createUser(actor: Actor, input: { email: unknown; password: unknown; role: unknown }): Promise<User> {
    const email = normalizeEmail(input.email);
    const password = requirePassword(input.password);
    const role = parseRole(input.role);
    const user = await this.store.accounts.insertUser({
      email,
      passwordHash: await hashPassword(password),
      role,
      createdAt: Date.now(),
    });
    if (!user) throw new AuthError('INVALID_SCHEMA', `email ${email} is already used by another user`);
    await this.audit('user_created', actor, `user:${user.id}`, { role });
    return user;
  }

  async updateUser(
    actor: Actor,
    id: number,
    patch: { role?: unknown; disabled?: unknown; password?: unknown },
  ): Promise<User> {
    const user = await this.requireUser(id);
    const role = patch.role === undefined ? undefined : parseRole(patch.role);
    if (patch.disabled !== undefined && typeof patch.disabled !== 'boolean')
      throw new AuthError('INVALID_SCHEMA', 'disabled must be true or false');
    const password = patch.password === undefined ? undefined : requirePassword(patch.password);
    const losesAdmin =
      user.role === 'admin' &&
      user.disabledAt === null &&
      ((role !== undefined && role !== 'admin') || patch.disabled === true);
    if (losesAdmin) await this.keepAnAdmin();
    const now = Date.now();
    const updated = await this.store.accounts.updateUser(id, {
      role,
      disabledAt: patch.disabled === undefined ? undefined : patch.disabled ? (user.disabledAt ?? now) : null,
      ...(password === undefined ? {} : { passwordHash: await hashPassword(password), passwordChangedAt: now }),
    });
    if (role !== undefined && role !== user.role)
      await this.audit('role_changed', actor, `user:${id}`, { from: user.role, to: role });
    if (patch.disabled === true && user.disabledAt === null) {
      await this.store.accounts.revokeUserSessions(id, now);
      await this.audit('user_disabled', actor, `user:${id}`);
    }
    if (patch.disabled === false && user.disabledAt !== null) await this.audit('user_enabled', actor, `user:${id}`);
    if (password !== undefined) {
      await this.store.accounts.revokeUserSessions(id, now);
      await this.audit('password_changed', actor, `user:${id}`, { by: 'admin' });
    }
    this.accessChanged();
    return updated!;
  }

  /**
   * A user changes their own password: every other login of theirs ends, this one goes on. A stolen access
   * token must not become a fast way to guess the password, so wrong current passwords are throttled per user
   * like sign-ins, and audited.
   */
  async changeOwnPassword(me: SignedInUser, actor: Actor, current: unknown, next: unknown): Promise<void> {
    const password = requirePassword(next);
    const subject = `user:${me.user.id}`;
    const wait = this.throttle.retryAfterFor(subject);
    if (wait > 0)
      throw new AuthError('RATE_LIMIT_EXCEEDED', `too many wrong current passwords; retry in ${wait} s`, wait);
    this.throttle.beginFor(subject);
    const stored = await this.store.accounts.getUserWithHash(me.user.id);
    if (
      !stored ||
      typeof current !== 'string' ||
      current.length > 1024 ||
      !(await verifyPassword(current, stored.passwordHash))
    ) {
      await this.audit('password_change_failed', actor, `user:${me.user.id}`, { reason: 'current password wrong' });
      throw new AuthError('FORBIDDEN', 'currentPassword is wrong');
    }
    this.throttle.succeedFor(subject);
    const now = Date.now();
    await this.store.accounts.updateUser(me.user.id, {
      passwordHash: await hashPassword(password),
      passwordChangedAt: now,
    });
    const ended = await this.store.accounts.revokeUserSessions(me.user.id, now, me.sessionId);
    await this.audit('password_changed', actor, `user:${me.user.id}`, { by: 'self', sessionsEnded: ended });
    this.accessChanged();
  }

  /** From the command line: sets a password and ends every login of that user. */
  async resetPassword(emailInput: unknown, passwordInput: unknown): Promise<User> {
    const email = normalizeEmail(emailInput);
    const password = requirePassword(passwordInput);
    const user = await this.store.accounts.getUserByEmail(email);
    if (!user) throw new AuthError('NOT_FOUND', `no user with email ${email}`);
    const now = Date.now();
    const updated = await this.store.accounts.updateUser(user.id, {
      passwordHash: await hashPassword(password),
      passwordChangedAt: now,
    });
    await this.store.accounts.revokeUserSessions(user.id, now);
    await this.audit('password_changed', { id: null, email: 'cli', address: null }, `user:${user.id}`, { by: 'cli' });
    return updated!;
  }

  async deleteUser(actor: Actor, id: number): Promise<void> {
    const user = await this.requireUser(id);
    if (user.role === 'admin' && user.disabledAt === null) await this.keepAnAdmin();
    await this.store.accounts.deleteUser(id);
    this.accessChanged();
    await this.audit('user_deleted', actor, `user:${id}`, { email: user.email });
  }

  async setGrant(actor: Actor, userId: number, appId: string, granted: boolean): Promise<void> {
    const user = await this.requireUser(userId);
    if (!(await this.store.getApp(appId))) throw new AuthError('NOT_FOUND', `no app ${JSON.stringify(appId)}`);
    if (user.role === 'admin') throw new AuthError('INVALID_SCHEMA', 'admins see every app; grants are for members');
    const now = Date.now();
    const changed = granted
      ? await this.store.accounts.grantApp(userId, appId, now)
      : await this.store.accounts.revokeAppGrant(userId, appId);
    if (changed) await this.audit(granted ? 'grant_added' : 'grant_removed', actor, `user:${userId}`, { app: appId });
    if (changed && !granted) this.accessChanged();
  }

  async requireUser(id: number): Promise<User> {
    const user = await this.store.accounts.getUser(id);
    if (!user) throw new AuthError('NOT_FOUND', `no user ${id}`);
    return user;
  }

  private async keepAnAdmin(): Promise<void> {
    const admins = (await this.store.accounts.listUsers()).filter((u) => u.role === 'admin' && u.disabledAt === null);
    if (admins.length <= 1) throw new AuthError('FORBIDDEN', 'this is the only active admin; make another admin first');
  }

  /** Audit helper for API-key changes made through the API. */
  async auditKey(
    action: 'key_created' | 'key_updated' | 'key_rotated' | 'key_revoked',
    actor: Actor,
    key: ApiKeyRecord,
    detail?: Record<string, unknown>,
  ): Promise<void> {
    await this.audit(action, actor, `key:${key.prefix}`, { app: key.appId, name: key.name, ...detail });
  }
}

export function parseRole(input: unknown): Role {
  if (input === 'admin' || input === 'member') return input;
  throw new AuthError('INVALID_SCHEMA', 'role must be "admin" or "member"');
}
