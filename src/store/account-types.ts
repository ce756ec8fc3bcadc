// The accounts part of the Store contract: users, app grants, login sessions with rotating refresh
// tokens, the first-run setup token and the audit log. Adapters expose it as `store.accounts`.

export type Role = 'admin' | 'member';
export const ROLES: readonly Role[] = ['admin', 'member'];

export interface User {
  id: number;
  email: string;
  role: Role;
  disabledAt: number | null;
  createdAt: number;
  passwordChangedAt: number;
}

export interface UserWithHash extends User {
  passwordHash: string;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  role: Role;
  createdAt: number;
}

export interface UserPatch {
  role?: Role;
  disabledAt?: number | null;
  passwordHash?: string;
  passwordChangedAt?: number;
}

export interface AuthSession {
  id: string;
  userId: number;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface NewAuthSession {
  id: string;
  userId: number;
  createdAt: number;
  expiresAt: number;
  address: string | null;
  userAgent: string | null;
}

/** What a presented refresh token resolves to. */
export interface RefreshTokenState {
  session: AuthSession;
  rotatedAt: number | null;
}

export type SetupOutcome = 'created' | 'invalid_token' | 'already_set_up' | 'email_taken';

export interface AuditEntry {
  id: number;
  at: number;
  action: string;
  actorId: number | null;
  actorEmail: string | null;
  address: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AccountStore {
  countAdmins(): Promise<number>;
  /** Null when the email is taken. */
  insertUser(user: NewUser): Promise<User | null>;
  getUser(id: number): Promise<User | null>;
  getUserByEmail(email: string): Promise<UserWithHash | null>;
  getUserWithHash(id: number): Promise<UserWithHash | null>;
  listUsers(): Promise<User[]>;
  updateUser(id: number, patch: UserPatch): Promise<User | null>;
  deleteUser(id: number): Promise<boolean>;

  /** App ids granted to a user. */
  userApps(userId: number): Promise<string[]>;
  grantApp(userId: number, appId: string, at: number): Promise<boolean>;
  revokeAppGrant(userId: number, appId: string): Promise<boolean>;

  /** Starts a login: a session (token family) and its first refresh token, in one transaction. */
  createAuthSession(session: NewAuthSession, refreshTokenHash: string): Promise<void>;
  getAuthSession(id: string): Promise<AuthSession | null>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenState | null>;
  /**
   * Exchanges a refresh token for a new one in the same family, atomically: false when the old token
   * was already rotated (the caller then treats it as reuse).
   */
  rotateRefreshToken(oldHash: string, newHash: string, at: number): Promise<boolean>;
  revokeAuthSession(id: string, at: number): Promise<boolean>;
  /** Revokes every active session of a user except `keep`; returns how many were revoked. */
  revokeUserSessions(userId: number, at: number, keep?: string): Promise<number>;

  /**
   * Revokes a guest token (by its id) until `expiresAt`, its own expiry; rows of tokens expired by `at` are
   * purged in the same call.
   */
  revokeGuestToken(tokenId: string, resource: string, expiresAt: number, at: number): Promise<void>;
  isGuestTokenRevoked(tokenId: string): Promise<boolean>;

  /** Replaces any unused setup token: only the newest link works. */
  putSetupToken(tokenHash: string, createdAt: number, expiresAt: number): Promise<void>;
  /**
   * Creates the first admin with a valid, unused, unexpired setup token, and uses the token up —
   * all or nothing, so two racing requests cannot both succeed.
   */
  completeSetup(tokenHash: string, admin: NewUser, at: number): Promise<{ outcome: SetupOutcome; user?: User }>;

  insertAudit(entry: NewAuditEntry): Promise<void>;
  /** Newest first; `before` is an entry id for paging. */
  listAudit(limit: number, before?: number): Promise<AuditEntry[]>;
}
