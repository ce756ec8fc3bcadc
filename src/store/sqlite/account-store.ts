// SQLite implementation of the accounts store (users, grants, login sessions, setup token, audit log).
// Runs on the main connection: these are rare, small writes next to ingestion's group commits.
import type Database from 'better-sqlite3';
import type {
  AccountStore,
  AuditEntry,
  AuthSession,
  NewAuditEntry,
  NewAuthSession,
  NewUser,
  RefreshTokenState,
  Role,
  SetupOutcome,
  User,
  UserPatch,
  UserWithHash,
} from '../account-types.ts';
import { run } from './run-query.ts';

export interface UserRow {
  id: number;
  email: string;
  password_hash: string;
  role: Role;
  disabled_at: number | null;
  created_at: number;
  password_changed_at: number;
}

export const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  role: r.role,
  disabledAt: r.disabled_at,
  createdAt: r.created_at,
  passwordChangedAt: r.password_changed_at,
});
export const toUserWithHash = (r: UserRow): UserWithHash => ({ ...toUser(r), passwordHash: r.password_hash });

export interface SessionRow {
  id: string;
  user_id: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}
export const toSession = (r: SessionRow): AuthSession => ({
  id: r.id,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

interface AuditRow {
  id: number;
  at: number;
  action: string;
  actor_id: number | null;
  actor_email: string | null;
  address: string | null;
  target: string | null;
  detail: string | null;
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

export class SqliteAccountStore implements AccountStore {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.stmt = {
      purgeRevokedGuests: p('DELETE FROM revoked_guest_tokens WHERE expires_at <= ?'),
      revokeGuest: p(
        'INSERT INTO revoked_guest_tokens (token_id, resource, expires_at, revoked_at) VALUES (?, ?, ?, ?) ON CONFLICT (token_id) DO NOTHING',
      ),
      guestRevoked: p('SELECT 1 FROM revoked_guest_tokens WHERE token_id = ?').pluck(),
      countAdmins: p("SELECT count(*) FROM users WHERE role = 'admin'").pluck(),
      insertUser: p(
        'INSERT INTO users (email, password_hash, role, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
      ),
      getUser: p('SELECT * FROM users WHERE id = ?'),
      getUserByEmail: p('SELECT * FROM users WHERE email = ?'),
      listUsers: p('SELECT * FROM users ORDER BY id'),
      deleteUser: p('DELETE FROM users WHERE id = ?'),
      userApps: p('SELECT app_id FROM user_apps WHERE user_id = ? ORDER BY app_id').pluck(),
      grant: p('INSERT INTO user_apps (user_id, app_id, granted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      revokeGrant: p('DELETE FROM user_apps WHERE user_id = ? AND app_id = ?'),
      insertSession: p(
        'INSERT INTO auth_sessions (id, user_id, created_at, expires_at, address, user_agent) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertRefresh: p('INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)'),
      getSession: p('SELECT id, user_id, created_at, expires_at, revoked_at FROM auth_sessions WHERE id = ?'),
      findRefresh: p(
        `SELECT s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at, r.rotated_at AS token_rotated_at
         FROM refresh_tokens r JOIN auth_sessions s ON s.id = r.session_id WHERE r.token_hash = ?`,
      ),
      markRotated: p(
        'UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL RETURNING session_id',
      ).pluck(),
      revokeSession: p('UPDATE auth_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      revokeUserSessions: p(
        'UPDATE auth_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?',
      ),
      deleteUnusedSetup: p('DELETE FROM setup_tokens WHERE used_at IS NULL'),
      insertSetup: p('INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)'),
      useSetup: p('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?'),
      insertAudit: p(
        'INSERT INTO audit_log (at, action, actor_id, actor_email, address, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      listAudit: p('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?'),
    };
  }

  async countAdmins(): Promise<number> {
    return run('countAdmins', () => this.stmt.countAdmins.get() as number);
  }

  async insertUser(u: NewUser): Promise<User | null> {
    try {
      return toUser(
        run('insertUser', () =>
          this.stmt.insertUser.get(u.email, u.passwordHash, u.role, u.createdAt, u.createdAt),
        ) as UserRow,
      );
    } catch (err) {
      if (isUniqueViolation((err as Error).cause)) return null;
      throw err;
    }
  }

  async getUser(id: number): Promise<User | null> {
    const r = run('getUser', () => this.stmt.getUser.get(id)) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  async getUserByEmail(email: string): Promise<UserWithHash | null> {
    const r = run('getUserByEmail', () => this.stmt.getUserByEmail.get(email)) as UserRow | undefined;
    return r ? toUserWithHash(r) : null;
  }

  async getUserWithHash(id: number): Promise<UserWithHash | null> {
    const r = run('getUser', () => this.stmt.getUser.get(id)) as UserRow | undefined;
    return r ? toUserWithHash(r) : null;
  }

  async listUsers(): Promise<User[]> {
    return (run('listUsers', () => this.stmt.listUsers.all()) as UserRow[]).map(toUser);
  }

  async updateUser(id: number, patch: UserPatch): Promise<User | null> {
    const columns: Record<string, unknown> = {
      role: patch.role,
      disabled_at: patch.disabledAt,
      password_hash: patch.passwordHash,
      password_changed_at: patch.passwordChangedAt,
    };
    const set = Object.entries(columns).filter(([, v]) => v !== undefined);
    if (set.length === 0) return this.getUser(id);
    // Column names come from the fixed list above, never from input.
    const sql = `UPDATE users SET ${set.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ? RETURNING *`;
    const r = run('updateUser', () => this.db.prepare(sql).get(...set.map(([, v]) => v), id)) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  async deleteUser(id: number): Promise<boolean> {
    return run('deleteUser', () => this.stmt.deleteUser.run(id).changes > 0);
  }

  async userApps(userId: number): Promise<string[]> {
    return run('userApps', () => this.stmt.userApps.all(userId) as string[]);
  }

  async grantApp(userId: number, appId: string, at: number): Promise<boolean> {
    return run('grantApp', () => this.stmt.grant.run(userId, appId, at).changes > 0);
  }

  async revokeAppGrant(userId: number, appId: string): Promise<boolean> {
    return run('revokeAppGrant', () => this.stmt.revokeGrant.run(userId, appId).changes > 0);
  }

  async createAuthSession(s: NewAuthSession, refreshTokenHash: string): Promise<void> {
    run('createAuthSession', () =>
      this.db.transaction(() => {
        this.stmt.insertSession.run(s.id, s.userId, s.createdAt, s.expiresAt, s.address, s.userAgent);
        this.stmt.insertRefresh.run(refreshTokenHash, s.id, s.createdAt);
      })(),
    );
  }

  async getAuthSession(id: string): Promise<AuthSession | null> {
    const r = run('getAuthSession', () => this.stmt.getSession.get(id)) as SessionRow | undefined;
    return r ? toSession(r) : null;
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenState | null> {
    const r = run('findRefreshToken', () => this.stmt.findRefresh.get(tokenHash)) as
      | (SessionRow & { token_rotated_at: number | null })
      | undefined;
    return r ? { session: toSession(r), rotatedAt: r.token_rotated_at } : null;
  }

  async rotateRefreshToken(oldHash: string, newHash: string, at: number): Promise<boolean> {
    return run('rotateRefreshToken', () =>
      this.db.transaction(() => {
        const sessionId = this.stmt.markRotated.get(at, oldHash) as string | undefined;
        if (sessionId === undefined) return false;
        this.stmt.insertRefresh.run(newHash, sessionId, at);
        return true;
      })(),
    );
  }

  async revokeAuthSession(id: string, at: number): Promise<boolean> {
    return run('revokeAuthSession', () => this.stmt.revokeSession.run(at, id).changes > 0);
  }

  async revokeUserSessions(userId: number, at: number, keep?: string): Promise<number> {
    return run('revokeUserSessions', () => this.stmt.revokeUserSessions.run(at, userId, keep ?? null).changes);
  }

  async revokeGuestToken(tokenId: string, resource: string, expiresAt: number, at: number): Promise<void> {
    run('revokeGuestToken', () =>
      this.db.transaction(() => {
        this.stmt.purgeRevokedGuests.run(at);
        this.stmt.revokeGuest.run(tokenId, resource, expiresAt, at);
      })(),
    );
  }

  async isGuestTokenRevoked(tokenId: string): Promise<boolean> {
    return run('isGuestTokenRevoked', () => this.stmt.guestRevoked.get(tokenId) !== undefined);
  }

  async putSetupToken(tokenHash: string, createdAt: number, expiresAt: number): Promise<void> {
    run('putSetupToken', () =>
      this.db.transaction(() => {
        this.stmt.deleteUnusedSetup.run();
        this.stmt.insertSetup.run(tokenHash, createdAt, expiresAt);
      })(),
    );
  }

  async completeSetup(tokenHash: string, admin: NewUser, at: number): Promise<{ outcome: SetupOutcome; user?: User }> {
    return run('completeSetup', () =>
      this.db
        .transaction((): { outcome: SetupOutcome; user?: User } => {
          if ((this.stmt.countAdmins.get() as number) > 0) return { outcome: 'already_set_up' };
          if (this.stmt.getUserByEmail.get(admin.email)) return { outcome: 'email_taken' };
          if (this.stmt.useSetup.run(at, tokenHash, at).changes === 0) return { outcome: 'invalid_token' };
          const row = this.stmt.insertUser.get(
            admin.email,
            admin.passwordHash,
            'admin',
            admin.createdAt,
            admin.createdAt,
          ) as UserRow;
          return { outcome: 'created', user: toUser(row) };
        })
        .immediate(),
    );
  }

  async insertAudit(e: NewAuditEntry): Promise<void> {
    run('insertAudit', () =>
      this.stmt.insertAudit.run(
        e.at,
        e.action,
        e.actorId,
        e.actorEmail,
        e.address,
        e.target,
        e.detail ? JSON.stringify(e.detail) : null,
      ),
    );
  }

  async listAudit(limit: number, before?: number): Promise<AuditEntry[]> {
    const rows = run('listAudit', () =>
      this.stmt.listAudit.all(before ?? Number.MAX_SAFE_INTEGER, limit),
    ) as AuditRow[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      action: r.action,
      actorId: r.actor_id,
      actorEmail: r.actor_email,
      address: r.address,
      target: r.target,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    }));
  }
}
