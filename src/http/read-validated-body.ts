// Reads a small JSON object body and checks it against its wire schema (compiled once): a body that does not fit
// is a 400 INVALID_SCHEMA whose message names each wrong field and says what it must be.
import type { H3Event } from 'h3';
import type { Static, TObject, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError, type ErrorDetail } from './errors.ts';
import { readJsonObject } from './read-json-body.ts';

interface FieldSchema {
  'x-expected'?: string;
  writeOnly?: boolean;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** One issue per top-level field (bodies are flat), in the order the schema lists the fields. */
export function bodyIssues(schema: TObject, body: Record<string, unknown>, errors: readonly SchemaError[]) {
  const fields = schema.properties as Record<string, FieldSchema>;
  const byField = new Map<string, ErrorDetail>();
  for (const err of errors) {
    const missing = err.keyword === 'required';
    const names = missing
      ? ((err.params.requiredProperties as string[] | undefined) ?? []).filter((n) => !Object.hasOwn(body, n))
      : [err.instancePath.split('/')[1]?.replace(/~1/g, '/').replace(/~0/g, '~')];
    for (const field of names) {
      if (field === undefined || byField.has(field)) continue;
      const spec = fields[field];
      const expected = spec?.['x-expected'];
      const message = !spec
        ? `${field} is not a field of this body (it has ${Object.keys(fields).join(', ')})`
        : missing
          ? `${field} is required${expected ? `: ${expected}` : ''}`
          : `${field} ${expected ? `must be ${expected}` : err.message}${spec?.writeOnly ? '' : `, got ${shown(body[field])}`}`;
      byField.set(field, { field, message });
    }
  }
  const order = Object.keys(fields);
  return [...byField.values()].sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field));
}

/**
 * A reader for bodies of one schema. With `optional`, a request without a body reads as {} (then checked):
 * cookie-authenticated refresh and logout need nothing else.
 */
export function bodyReader<T extends TObject>(schema: T) {
  // Compiled on first use: a server starts without generating the code of the routes nobody calls.
  let compiled: ReturnType<typeof Compile> | undefined;
  return async (event: H3Event, opts: { optional?: boolean } = {}): Promise<Static<T>> => {
    const body = await readJsonObject(event, opts);
    const validator = (compiled ??= Compile(schema as TSchema));
    if (validator.Check(body)) return body as Static<T>;
    const issues = bodyIssues(schema, body, validator.Errors(body) as SchemaError[]);
    const message = issues.map((i) => i.message).join('; ') || 'request body does not match its schema';
    throw new ApiError('INVALID_SCHEMA', message, issues);
  };
}
