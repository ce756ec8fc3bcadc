// Access: API keys now; users, sessions and guest tokens later.
export {
  ApiKeyAuthenticator,
  createApiKey,
  ensureBootstrap,
  hashApiKey,
  normalizePrefix,
  DEFAULT_APP_ID,
  type Bootstrap,
} from './api-keys.ts';
