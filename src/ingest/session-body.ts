// A POST /v1/sessions body is one SessionSummary or an array of them, validated as a whole:
// one bad item rejects the batch, and the issues name each bad item's index and field.
import { validateSessionSummary, type IngestedSession } from './session-summary.ts';
import type { FieldIssue } from '../tools/field-issues.ts';

export type SessionBody =
  | { ok: true; batch: boolean; sessions: IngestedSession[] }
  | { ok: false; issues: FieldIssue[] };

/** `sentText`: the text `body` was parsed from; a single session keeps it as its stored payload (no re-serialising). */
export function validateSessionBody(body: unknown, maxBatchSize: number, sentText?: string): SessionBody {
  if (!Array.isArray(body)) {
    const result = validateSessionSummary(body, sentText);
    return result.ok ? { ok: true, batch: false, sessions: [result.session] } : result;
  }
  if (body.length === 0)
    return { ok: false, issues: [{ field: '(body)', message: 'expected at least one session, got an empty array' }] };
  if (body.length > maxBatchSize)
    return {
      ok: false,
      issues: [{ field: '(body)', message: `expected at most ${maxBatchSize} sessions per batch, got ${body.length}` }],
    };
  const sessions: IngestedSession[] = [];
  const issues: FieldIssue[] = [];
  for (let index = 0; index < body.length; index++) {
    const result = validateSessionSummary(body[index]);
    if (result.ok) sessions.push(result.session);
    else for (const issue of result.issues) issues.push({ ...issue, index });
    if (issues.length >= 100) break; // enough to act on; keeps the error body small
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, batch: true, sessions };
}
