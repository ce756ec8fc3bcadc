// The start-up banner: where m3w listens (LAN addresses too, so a phone on the same Wi-Fi can reach it),
// where data lives, the one-time admin setup link while no admin exists, and — once, on first start — the
// ingest key with a ready-to-paste curl example. The key goes to a terminal only: when stdout is a log file or
// journald it would stay there for anyone who can read logs, so the banner says how to make a key instead.
import { networkInterfaces } from 'node:os';
import type { ResolvedConfig } from '../config/index.ts';
import { storeLocation } from '../store/index.ts';

export function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

export function curlExample(baseUrl: string, key: string): string {
  const now = Date.now();
  const body = JSON.stringify({
    sessionId: 'hello-m3w-1',
    timestamp: now,
    sessionStartDateIso: new Date(now - 60_000).toISOString(),
    sessionDurationMs: 60_000,
    startupTimeMs: 850,
    rebufferTimeMs: null,
    playTimeMs: 59_000,
  });
  return `curl -X POST ${baseUrl}/v1/sessions -H 'Content-Type: application/json' -H 'X-API-Key: ${key}' -d '${body}'`;
}

export interface BannerOptions {
  version: string;
  config: ResolvedConfig;
  port: number;
  createdKey: string | null;
  /** While no admin exists: the token of the one-time setup link. */
  setupToken: string | null;
  /** Whether stdout is a terminal (a person reading), not a file or a journal. */
  interactive: boolean;
}

/** The banner text, and the page a desktop browser should open (the setup link on first run). */
export function banner(opts: BannerOptions): { text: string; openUrl: string } {
  const { config, port } = opts;
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const urls = wildcard
    ? [`http://localhost:${port}`, ...lanAddresses().map((a) => `http://${a}:${port}`)]
    : [`http://${config.host}:${port}`];
  const lines = [
    '',
    `  m3w ${opts.version} is running`,
    '',
    ...urls.map((u, i) => `  ${i === 0 ? 'Local:  ' : 'Network:'} ${u}`),
    `  Data:     ${storeLocation(config)}`,
    '',
  ];
  const setupUrl = opts.setupToken ? `${urls[0]}/setup#${opts.setupToken}` : null;
  if (setupUrl)
    lines.push(
      '  Create the first admin account (this link works once, for one hour; restart m3w for a new one):',
      '',
      `    ${setupUrl}`,
      '',
      '  Or from a shell: m3w admin create --email you@example.com --password <at least 10 characters>',
      '',
    );
  if (opts.createdKey && !opts.interactive) {
    lines.push(
      '  A default app and an ingest key were created. The key is not printed here, because this output is not',
      '  a terminal and may be kept in a log. Create a key to use with:',
      '',
      '    m3w apikey create --name my-app',
      '',
      `  or in the dashboard: ${urls[0]}/settings/keys`,
      '',
    );
  } else if (opts.createdKey) {
    lines.push(
      '  A default app and its ingest key were created. The key is shown only this once:',
      '',
      `    ${opts.createdKey}`,
      '',
      '  Send a test session:',
      '',
      `    ${curlExample(urls[0]!, opts.createdKey)}`,
      '',
      `  Android SDK: endpoint ${urls[urls.length - 1]}/v1/sessions, header X-API-Key: <the key above>`,
      '',
    );
  }
  return { text: lines.join('\n') + '\n', openUrl: setupUrl ?? `${urls[0]}/` };
}
