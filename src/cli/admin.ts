// m3w admin create | reset-password — accounts from a shell, for scripts and for installs over SSH where
// nobody opens the setup link. Works on the database directly, also while a server runs.
import { randomBytes } from 'node:crypto';
import { Accounts, AuthError, TokenSigner } from '../auth/index.ts';
import type { ResolvedConfig } from '../config/index.ts';
import { ensurePrivateDir, openStore } from '../store/index.ts';
import type { CliValues } from './options.ts';

export async function runAdmin(config: ResolvedConfig, args: string[], values: CliValues): Promise<number> {
  const [sub] = args;
  if ((sub !== 'create' && sub !== 'reset-password') || args.length !== 1) {
    process.stderr.write(
      `m3w: admin needs a subcommand: create or reset-password${sub ? ` (got "${args.join(' ')}")` : ''}\n`,
    );
    return 2;
  }
  if (!values.email) {
    process.stderr.write(`m3w: admin ${sub} needs --email EMAIL\n`);
    return 2;
  }
  if (sub === 'create' && !values.password) {
    process.stderr.write('m3w: admin create needs --password PASSWORD (at least 10 characters)\n');
    return 2;
  }
  // reset-password without --password makes one up and prints it once.
  const generated = values.password ? null : randomBytes(12).toString('base64url');
  const password = values.password ?? generated!;
  const store = await openStore(config);
  try {
    // The signing key lives in the data directory, which on Postgres nothing else has made yet (SQLite's file is there).
    ensurePrivateDir(config.dataDirPath);
    const accounts = new Accounts(store, new TokenSigner(config.dataDirPath));
    if (sub === 'create') {
      const user = await accounts.createAdmin(values.email, password);
      process.stdout.write(`Created admin ${user.email}. Sign in at the dashboard with this email and password.\n`);
    } else {
      const user = await accounts.resetPassword(values.email, password);
      process.stdout.write(`Set a new password for ${user.email}; their sessions have been signed out.\n`);
      if (generated) process.stdout.write(`The new password is shown only this once:\n\n  ${generated}\n\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    process.stderr.write(`m3w: ${err.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
