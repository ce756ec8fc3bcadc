// m3w service install | uninstall: run m3w under systemd as a dedicated system user with a hardened unit
// (Raspberry Pi and other always-on Linux boxes). --dry-run prints the unit and changes nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { selfCommand } from './standalone.ts';

const UNIT_PATH = '/etc/systemd/system/m3w.service';
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export interface ServiceOptions {
  user: string;
  dataDir: string;
  command: string[];
}

/** Quotes an argument for systemd's ExecStart when it needs it. */
const quote = (arg: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`);

export function systemdUnit(opts: ServiceOptions): string {
  return `# Written by "m3w service install". Remove with "m3w service uninstall".
[Unit]
Description=m3w self-hosted video analytics backend
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${opts.user}
Group=${opts.user}
WorkingDirectory=${opts.dataDir}
ExecStart=${[...opts.command, 'serve', '--data-dir', opts.dataDir, '--no-open'].map(quote).join(' ')}
Restart=always
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=30
LimitNOFILE=65536

# Hardening: m3w needs its data directory and the network, nothing else.
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=${opts.dataDir}
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
LockPersonality=true

[Install]
WantedBy=multi-user.target
`;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'inherit' });
}

export async function runService(
  args: string[],
  flags: { user?: string; dataDir?: string; dryRun?: boolean },
): Promise<number> {
  const [sub] = args;
  const user = flags.user ?? 'm3w';
  const dataDir = path.resolve(flags.dataDir ?? '/var/lib/m3w');
  if (sub !== 'install' && sub !== 'uninstall') {
    process.stderr.write(`m3w: service needs install or uninstall${sub ? ` (got "${sub}")` : ''}\n`);
    return 2;
  }
  if (!USER_NAME.test(user)) {
    process.stderr.write(`m3w: --user must be a valid system user name, got ${JSON.stringify(user)}\n`);
    return 2;
  }
  const unit = systemdUnit({ user, dataDir, command: selfCommand() });
  if (flags.dryRun) {
    process.stdout.write(
      sub === 'install' ? unit : `would run: systemctl disable --now m3w; rm ${UNIT_PATH}; systemctl daemon-reload\n`,
    );
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('m3w: service install and uninstall change the system; run them as root (sudo)\n');
    return 1;
  }
  if (!existsSync('/run/systemd/system')) {
    process.stderr.write(
      'm3w: systemd is not running on this machine; use --dry-run to see the unit and install it yourself\n',
    );
    return 1;
  }
  if (sub === 'uninstall') {
    run('systemctl', ['disable', '--now', 'm3w']);
    rmSync(UNIT_PATH, { force: true });
    run('systemctl', ['daemon-reload']);
    process.stdout.write(`Removed the m3w service. Data in ${dataDir} and the user "${user}" were kept.\n`);
    return 0;
  }
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
  } catch {
    run('useradd', ['--system', '--home-dir', dataDir, '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  }
  mkdirSync(dataDir, { recursive: true });
  run('chown', ['-R', `${user}:${user}`, dataDir]);
  writeFileSync(UNIT_PATH, unit, { mode: 0o644 });
  run('systemctl', ['daemon-reload']);
  run('systemctl', ['enable', '--now', 'm3w']);
  process.stdout.write(`m3w runs as a service now (user ${user}, data in ${dataDir}). Logs: journalctl -u m3w -f\n`);
  return 0;
}
