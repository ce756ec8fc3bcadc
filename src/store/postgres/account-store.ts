// Postgres implementation of the accounts store (users, grants, login sessions, setup token, audit log):
// the SQLite adapter's statements in Postgres spelling. Emails match case-insensitively (lower(email)).
import type pg from 'pg';
import type {
  AccountStore,
  AuditEntry,
  AuthSession,
  NewAuditEntry,
  NewAuthSession,
  NewUser,
  RefreshTokenState,
  SetupOutcome,
  User,
  UserPatch,
  UserWithHash,
} from '../account-types.ts';
import { type SessionRow, toSession, toUser, toUserWithHash, type UserRow } from '../sqlite/account-store.ts';
import { isUniqueViolation, q, transaction } from './database.ts';

const INSERT_USER =
  'INSERT INTO users (email, password_hash, role, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5) RETURNING *';
const INSERT_REFRESH = 'INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)';

export class PostgresAccountStore implements AccountStore {
  constructor(private readonly pool: pg.Pool) {}

  async countAdmins(): Promise<number> {
    const r = await q<{ n: number }>(this.pool, 'countAdmins', "SELECT count(*) AS n FROM users WHERE role = 'admin'");
    return r.rows[0]!.n;
  }

  async insertUser(u: NewUser): Promise<User | null> {
    try {
      const r = await q<UserRow>(this.pool, 'insertUser', INSERT_USER, [
        u.email,
        u.passwordHash,
        u.role,
        u.createdAt,
        u.createdAt,
      ]);
      return toUser(r.rows[0]!);
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  async getUser(id: number): Promise<User | null> {
    const r = await q<UserRow>(this.pool, 'getUser', 'SELECT * FROM users WHERE id = $1', [id]);
    return r.rows[0] ? toUser(r.rows[0]) : null;
  }

  async getUserByEmail(email: string): Promise<UserWithHash | null> {
    const r = await q<UserRow>(this.pool, 'getUserByEmail', 'SELECT * FROM users WHERE lower(email) = lower($1)', [
      email,
    ]);
    return r.rows[0] ? toUserWithHash(r.rows[0]) : null;
  }

  async getUserWithHash(id: number): Promise<UserWithHash | null> {
    const r = await q<UserRow>(this.pool, 'getUser', 'SELECT * FROM users WHERE id = $1', [id]);
    return r.rows[0] ? toUserWithHash(r.rows[0]) : null;
  }

  async listUsers(): Promise<User[]> {
    return (await q<UserRow>(this.pool, 'listUsers', 'SELECT * FROM users ORDER BY id')).rows.map(toUser);
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
    const sql = `UPDATE users SET ${set.map(([c], i) => `${c} = $${i + 1}`).join(', ')} WHERE id = $${set.length + 1} RETURNING *`;
    const r = await q<UserRow>(this.pool, 'updateUser', sql, [...set.map(([, v]) => v), id]);
    return r.rows[0] ? toUser(r.rows[0]) : null;
  }

  async deleteUser(id: number): Promise<boolean> {
    return ((await q(this.pool, 'deleteUser', 'DELETE FROM users WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async userApps(userId: number): Promise<string[]> {
    const r = await q<{ app_id: string }>(
      this.pool,
      'userApps',
      'SELECT app_id FROM user_apps WHERE user_id = $1 ORDER BY app_id',
      [userId],
    );
    return r.rows.map((x) => x.app_id);
  }

  async grantApp(userId: number, appId: string, at: number): Promise<boolean> {
    const r = await q(
      this.pool,
      'grantApp',
      'INSERT INTO user_apps (user_id, app_id, granted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [userId, appId, at],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async revokeAppGrant(userId: number, appId: string): Promise<boolean> {
    const r = await q(this.pool, 'revokeAppGrant', 'DELETE FROM user_apps WHERE user_id = $1 AND app_id = $2', [
      userId,
      appId,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async createAuthSession(s: NewAuthSession, refreshTokenHash: string): Promise<void> {
    await transaction(this.pool, 'createAuthSession', async (c) => {
      await c.query(
        'INSERT INTO auth_sessions (id, user_id, created_at, expires_at, address, user_agent) VALUES ($1, $2, $3, $4, $5, $6)',
        [s.id, s.userId, s.createdAt, s.expiresAt, s.address, s.userAgent],
      );
      await c.query(INSERT_REFRESH, [refreshTokenHash, s.id, s.createdAt]);
    });
  }

  async getAuthSession(id: string): Promise<AuthSession | null> {
    const r = await q<SessionRow>(
      this.pool,
      'getAuthSession',
      'SELECT id, user_id, created_at, expires_at, revoked_at FROM auth_sessions WHERE id = $1',
      [id],
    );
    return r.rows[0] ? toSession(r.rows[0]) : null;
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenState | null> {
    const r = await q<SessionRow & { token_rotated_at: number | null }>(
      this.pool,
      'findRefreshToken',
      `SELECT s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at, r.rotated_at AS token_rotated_at
       FROM refresh_tokens r JOIN auth_sessions s ON s.id = r.session_id WHERE r.token_hash = $1`,
      [tokenHash],
    );
    const row = r.rows[0];
    return row ? { session: toSession(row), rotatedAt: row.token_rotated_at } : null;
  }

  async rotateRefreshToken(oldHash: string, newHash: string, at: number): Promise<boolean> {
    return transaction(this.pool, 'rotateRefreshToken', async (c) => {
      const r = await c.query<{ session_id: string }>(
        'UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL RETURNING session_id',
        [at, oldHash],
      );
      if (r.rows.length === 0) return false;
      await c.query(INSERT_REFRESH, [newHash, r.rows[0]!.session_id, at]);
      return true;
    });
  }

  async revokeAuthSession(id: string, at: number): Promise<boolean> {
    const r = await q(
      this.pool,
      'revokeAuthSession',
      'UPDATE auth_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [at, id],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async revokeUserSessions(userId: number, at: number, keep?: string): Promise<number> {
    const r = await q(
      this.pool,
      'revokeUserSessions',
      'UPDATE auth_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3',
      [at, userId, keep ?? null],
    );
    return r.rowCount ?? 0;
  }

  async revokeGuestToken(tokenId: string, resource: string, expiresAt: number, at: number): Promise<void> {
    await transaction(this.pool, 'revokeGuestToken', async (c) => {
      await c.query('DELETE FROM revoked_guest_tokens WHERE expires_at <= $1', [at]);
      await c.query(
        'INSERT INTO revoked_guest_tokens (token_id, resource, expires_at, revoked_at) VALUES ($1, $2, $3, $4) ON CONFLICT (token_id) DO NOTHING',
        [tokenId, resource, expiresAt, at],
      );
    });
  }

  async isGuestTokenRevoked(tokenId: string): Promise<boolean> {
    const r = await q(this.pool, 'isGuestTokenRevoked', 'SELECT 1 FROM revoked_guest_tokens WHERE token_id = $1', [
      tokenId,
    ]);
    return r.rows.length > 0;
  }

  async putSetupToken(tokenHash: string, createdAt: number, expiresAt: number): Promise<void> {
    await transaction(this.pool, 'putSetupToken', async (c) => {
      await c.query('DELETE FROM setup_tokens WHERE used_at IS NULL');
      await c.query('INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)', [
        tokenHash,
        createdAt,
        expiresAt,
      ]);
    });
  }

  async completeSetup(tokenHash: string, admin: NewUser, at: number): Promise<{ outcome: SetupOutcome; user?: User }> {
    return transaction(this.pool, 'completeSetup', async (c) => {
      // Racing setups take turns on the users table: the second sees the first one's admin.
      await c.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
      const admins = await c.query<{ n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin'");
      if (admins.rows[0]!.n > 0) return { outcome: 'already_set_up' as const };
      const taken = await c.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [admin.email]);
      if (taken.rows.length > 0) return { outcome: 'email_taken' as const };
      const used = await c.query(
        'UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3',
        [at, tokenHash, at],
      );
      if (used.rowCount === 0) return { outcome: 'invalid_token' as const };
      const r = await c.query<UserRow>(INSERT_USER, [
        admin.email,
        admin.passwordHash,
        'admin',
        admin.createdAt,
        admin.createdAt,
      ]);
      return { outcome: 'created' as const, user: toUser(r.rows[0]!) };
    });
  }

  async insertAudit(e: NewAuditEntry): Promise<void> {
    await q(
      this.pool,
      'insertAudit',
      'INSERT INTO audit_log (at, action, actor_id, actor_email, address, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [e.at, e.action, e.actorId, e.actorEmail, e.address, e.target, e.detail ? JSON.stringify(e.detail) : null],
    );
  }

  async listAudit(limit: number, before?: number): Promise<AuditEntry[]> {
    const r = await q<{
      id: number;
      at: number;
      action: string;
      actor_id: number | null;
      actor_email: string | null;
      address: string | null;
      target: string | null;
      detail: string | null;
    }>(this.pool, 'listAudit', 'SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2', [
      before ?? Number.MAX_SAFE_INTEGER,
      limit,
    ]);
    return r.rows.map((x) => ({
      id: x.id,
      at: x.at,
      action: x.action,
      actorId: x.actor_id,
      actorEmail: x.actor_email,
      address: x.address,
      target: x.target,
      detail: x.detail ? (JSON.parse(x.detail) as Record<string, unknown>) : null,
    }));
  }
}
