// Ingestion: validation and normalisation of what SDKs and media servers send.
export {
  SessionSummarySchema,
  validateSessionSummary,
  parseIsoDateTime,
  type SessionSummary,
  type IngestedSession,
  type ValidationResult,
} from './session-summary.ts';
export { validateSessionBody, type SessionBody } from './session-body.ts';
export { issuesFromErrors, describeValue, type FieldIssue } from './field-issues.ts';
export { normalizeCountryCode } from './countries.ts';
