// Access: API keys now; users, sessions and guest tokens later.
export {
  ApiKeyAuthenticator,
  createApiKey,
  ensureBootstrap,
  generateApiKey,
  hashApiKey,
  normalizePrefix,
  prefixForChosenKey,
  DEFAULT_APP_ID,
  type Bootstrap,
} from './api-keys.ts';
