// Ingestion: validation and normalisation of what SDKs and media servers send.
export {
  SessionSummarySchema,
  validateSessionSummary,
  type SessionSummary,
  type IngestedSession,
  type ValidationResult,
} from './session-summary.ts';
export { validateSessionBody, type SessionBody } from './session-body.ts';
export type { FieldIssue } from '../tools/field-issues.ts';
export { classifyUserAgent, DEVICE_CLASSES, type DeviceClass } from './user-agent.ts';
export {
  validateWebhookBody,
  validateWebhookEvent,
  WebhookEventSchema,
  PLAY_EVENT_TYPES,
  type PlayEvent,
  type PlayEventType,
  type WebhookBody,
} from './webhook-event.ts';
