// OpenAPI pieces the analytics read routes share: who may call them, their errors, and the JSON answer wrapper.
// The answers' schemas are the wire schemas in src/wire/analytics.ts.
import { errorResponses } from './openapi-shared.ts';

/** A read-scoped API key, or a signed-in user (bearer token or the dashboard's cookie). */
export const READ_SECURITY = [{ apiKey: [] }, { bearer: [] }, { cookie: [] }];
export const READ_ERRORS = errorResponses(400, 401, 403, 404, 429, 503);

export const json = (schema: unknown, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
