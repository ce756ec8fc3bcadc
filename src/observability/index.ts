// Logs and metrics shared by every part.
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export { Metrics } from './metrics.ts';
