// Ingestion: validation and normalisation of what SDKs and media servers send.
export { SessionSummarySchema, type SessionSummary, type IngestedSession } from './session-summary.ts';
export { validateSessionBody, type SessionBody } from './session-body.ts';
export { issuesFromErrors, type FieldIssue } from './field-issues.ts';
