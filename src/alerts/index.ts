// Alerts: rules evaluated after the engine's minute job, notification channels (webhook, Slack, Discord,
// ntfy, email) with settings sealed by the data directory's key, and the delivery outbox worker.
export { AlertEvaluator, type EvaluationReport } from './alert-evaluator.ts';
export { KEY_FILE as ALERTS_KEY_FILE, SecretBox } from './channel-secrets.ts';
export {
  parseSettings,
  redactSettings,
  SettingsError,
  targetHost,
  type ChannelSettings,
} from './channel-settings.ts';
export { assertPublicHost, isPrivateAddress, PrivateTargetError } from './private-targets.ts';
export { alertSummary, httpNotification, type AlertBody, type OutboxPayload } from './notification-format.ts';
export { postNotification } from './http-delivery.ts';
export { NotificationOutbox, type OutboxOptions } from './outbox.ts';
