// m3w serve: start, print the banner, and shut down cleanly on SIGINT/SIGTERM
// (stop accepting, finish the write queue, close the database, exit 0).
import type { ResolvedConfig } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { startServer } from '../server.ts';
import { storeLocation } from '../store/index.ts';
import { VERSION } from '../version.ts';
import { banner } from './banner.ts';
import { desktopSession, openBrowser } from './open-browser.ts';

export async function runServe(config: ResolvedConfig): Promise<number> {
  // Listen for signals before anything is announced: a supervisor may send SIGTERM the instant it reads
  // "listening", and a signal with no listener kills the process without a clean shutdown.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const logger = createLogger({ level: config.logLevel });
  const running = await startServer(config, { logger });
  const shown = banner({
    version: VERSION,
    config,
    port: running.port,
    createdKey: running.bootstrap.createdKey,
    setupToken: running.setupToken,
    interactive: process.stdout.isTTY === true,
  });
  process.stdout.write(shown.text);
  logger.info(
    { port: running.port, host: config.host, database: storeLocation(config), version: VERSION },
    'listening',
  );
  if (config.openBrowser && desktopSession()) openBrowser(shown.openUrl);

  const signal = await stopRequested;
  logger.info({ signal }, 'shutting down');
  await running.close();
  logger.info('stopped');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}
