// Access: API keys, users and their logins (JWT access tokens, rotating refresh tokens), guest tokens, audit.
export {
  ACCESS_CHANGED_TOPIC,
  ApiKeyAuthenticator,
  createApiKey,
  ensureBootstrap,
  hashApiKey,
  MAX_KEY_ORIGINS,
  normalizeOrigins,
  normalizePrefix,
  publicPrefix,
  rotateApiKey,
  DEFAULT_APP_ID,
  type Bootstrap,
} from './api-keys.ts';
export {
  Accounts,
  normalizeEmail,
  parseRole,
  publicUser,
  REFRESH_TTL_MS,
  SETUP_TTL_MS,
  type Actor,
  type LoginResult,
  type PublicUser,
  type RequestMeta,
  type SignedInUser,
} from './accounts.ts';
export { AuthError, type AuthErrorCode } from './errors.ts';
export {
  GUEST_ACTIONS,
  GUEST_MAX_TTL_SEC,
  guestMay,
  guestTokenId,
  issueGuestToken,
  type GuestAction,
} from './guest-tokens.ts';
export { LoginThrottle, type ThrottleLimits } from './login-throttle.ts';
export { PASSWORD_MIN } from './passwords.ts';
export { differingKeysMessage, InstanceKeys } from './instance-keys.ts';
export { ACCESS_TTL_SEC, KEY_FILE, TokenSigner, type GuestClaims } from './tokens.ts';
