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
  const base = {
    level: opts.level,
    base: undefined, // no pid/hostname on every line
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: these must never be logged, even if someone logs a whole object.
    redact: { paths: ['apiKey', 'key', 'password', 'token', '*.apiKey', '*.password', '*.token', 'headers["x-api-key"]'], censor: '[redacted]' },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (process.stdout.isTTY) return pino(base, pretty({ sync: true, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  return pino(base);
}
