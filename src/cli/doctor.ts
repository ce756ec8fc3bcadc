// m3w doctor: checks what a self-hoster needs before (or while) running m3w, one line per check, and
// exits non-zero when something is wrong.
import { existsSync, mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ResolvedConfig } from '../config/index.ts';
import {
  databaseFiles,
  integrityProblem,
  lockHolder,
  looseModes,
  pendingMigrations,
  storeLocation,
} from '../store/index.ts';
import { discoverFfmpeg, FFMPEG_INSTALL_HINT } from '../media/index.ts';

type Level = 'ok' | 'warn' | 'fail';
interface Check {
  level: Level;
  what: string;
}

const MIN_FREE_BYTES = 100 * 1024 * 1024;
const LOW_FREE_BYTES = 1024 * 1024 * 1024;

function checkDataDir(config: ResolvedConfig): Check {
  const dir = path.dirname(config.databasePath);
  const probe = path.join(dir, `.m3w-doctor-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(probe, 'probe', { flush: true, mode: 0o600 });
    rmSync(probe);
    return { level: 'ok', what: `data directory ${dir} is writable` };
  } catch (err) {
    return {
      level: 'fail',
      what: `data directory ${dir} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    };
  }
}

/** Everything m3w keeps holds its users' data or secrets: only its own user should read it (umask aside). */
function checkModes(config: ResolvedConfig): Check {
  const loose = looseModes(config.dataDirPath);
  for (const file of databaseFiles(config.databasePath))
    if (!file.startsWith(config.dataDirPath + path.sep) && loose.length < 20)
      loose.push(...looseModes(file).filter((l) => !statIsDir(l.path)));
  if (loose.length === 0) return { level: 'ok', what: `data in ${config.dataDirPath} is private to this user` };
  const shown = loose
    .slice(0, 5)
    .map((l) => `${l.path} (${l.mode})`)
    .join(', ');
  return {
    level: 'warn',
    what: `readable by other users: ${shown}${loose.length > 5 ? ' …' : ''}; fix with chmod -R go-rwx ${config.dataDirPath}`,
  };
}

function statIsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function checkDisk(config: ResolvedConfig): Check {
  let dir = path.dirname(config.databasePath);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  const gb = (free / 1024 ** 3).toFixed(1);
  if (free < MIN_FREE_BYTES) return { level: 'fail', what: `only ${gb} GB free on the data directory's disk` };
  if (free < LOW_FREE_BYTES) return { level: 'warn', what: `${gb} GB free on the data directory's disk (low)` };
  return { level: 'ok', what: `${gb} GB free on the data directory's disk` };
}

function checkPort(config: ResolvedConfig): Promise<Check> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const holder = lockHolder(config.databasePath);
      if (err.code === 'EADDRINUSE' && holder !== null)
        resolve({ level: 'ok', what: `port ${config.port} is in use by this m3w (pid ${holder})` });
      else
        resolve({
          level: 'fail',
          what: `port ${config.port} on ${config.host} is not available: ${err.code ?? err.message}`,
        });
    });
    server.listen(config.port, config.host, () => {
      server.close(() => resolve({ level: 'ok', what: `port ${config.port} on ${config.host} is free` }));
    });
  });
}

async function checkDatabase(config: ResolvedConfig): Promise<Check> {
  if (config.postgresUrl !== null) {
    // Postgres: reachable, and how far its schema is migrated (nothing is changed).
    try {
      const pending = await pendingMigrations(config);
      return {
        level: 'ok',
        what: `Postgres database ${storeLocation(config)} is reachable; ${pending === 0 ? 'its schema is up to date' : `${pending} migration${pending === 1 ? '' : 's'} to apply at the next start`}`,
      };
    } catch (err) {
      return { level: 'fail', what: (err as Error).message };
    }
  }
  if (!existsSync(config.databasePath))
    return { level: 'ok', what: `no database yet at ${config.databasePath}; it is created on first start` };
  const problem = integrityProblem(config.databasePath);
  return problem === null
    ? { level: 'ok', what: `database ${config.databasePath} passes the integrity check` }
    : { level: 'fail', what: `database ${config.databasePath} fails the integrity check: ${problem}` };
}

/** Which ffmpeg video hosting uses (the same search as the server), its version and the encoders that work. */
async function checkFfmpeg(config: ResolvedConfig): Promise<Check> {
  const info = await discoverFfmpeg({ ffmpegPath: config.ffmpegPath, encoder: config.transcode.encoder });
  if (!info && config.ffmpegPath === 'none')
    return { level: 'ok', what: 'video is turned off: ffmpegPath is "none" (M3W_FFMPEG=none)' };
  if (!info) return { level: 'warn', what: `ffmpeg not found; video upload is off until you ${FFMPEG_INSTALL_HINT}` };
  const broken = info.brokenEncoders.length > 0 ? `; listed but not working: ${info.brokenEncoders.join(', ')}` : '';
  return {
    level: 'ok',
    what: `ffmpeg ${info.ffmpeg.version} at ${info.ffmpeg.path} (${info.ffmpeg.source}), ffprobe at ${info.ffprobe.path}; H.264 encoders that work: ${info.workingEncoders.join(', ') || 'none'}; transcoding with ${info.encoder}${broken}`,
  };
}

function checkClock(): Check {
  const year = new Date().getUTCFullYear();
  return year >= 2024 && year < 2100
    ? { level: 'ok', what: `clock reads ${new Date().toISOString()}` }
    : {
        level: 'fail',
        what: `clock reads ${new Date().toISOString()}, which cannot be right; timestamps would be wrong`,
      };
}

export async function runDoctor(config: ResolvedConfig): Promise<number> {
  const checks = [
    checkDataDir(config),
    checkModes(config),
    checkDisk(config),
    await checkPort(config),
    await checkDatabase(config),
    await checkFfmpeg(config),
    checkClock(),
  ];
  const label: Record<Level, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
  for (const c of checks) process.stdout.write(`${label[c.level]}  ${c.what}\n`);
  const failed = checks.filter((c) => c.level === 'fail').length;
  process.stdout.write(failed === 0 ? 'm3w is ready.\n' : `${failed} problem${failed === 1 ? '' : 's'} found.\n`);
  return failed === 0 ? 0 : 1;
}
