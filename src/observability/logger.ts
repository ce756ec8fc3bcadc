// Structured logs with pino: JSON for machines, readable lines on a terminal.
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout (pretty when stdout is a terminal). */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  // No redaction pass: it costs more per line than the rest of the request log, and nothing that is logged
  // carries a secret (the tests grep the log for keys). Epoch-ms `time`, like every time in m3w.
  const base = { level: opts.level, base: undefined };
  if (opts.destination) return pino(base, opts.destination);
  if (process.stdout.isTTY)
    return pino(base, pretty({ sync: true, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  // Asynchronous, buffered writes: lines go out when 4 KiB have gathered or every 50 ms, so under load one
  // write(2) carries dozens of request lines (one per request was ~7 % of the main thread's CPU under
  // single-session ingestion). pino flushes what is buffered at exit; a kill -9 loses at most 50 ms of lines.
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 50 }));
}
