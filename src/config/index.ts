// Configuration: load, merge and validate (defaults < file < env < flags).
export { ConfigSchema, DEFAULT_CONFIG, type Config } from './schema.ts';
export { loadConfig, ConfigError, ENV_KEYS, FLAG_KEYS, type LoadOptions, type ResolvedConfig } from './load.ts';
