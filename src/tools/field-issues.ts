// Turns JSON-Schema validation errors into one message per field that a person can act on:
// "sessionDurationMs: expected an integer greater than 0, got 0". A leaf shared by ingest and config.
import type { TSchema } from 'typebox';

export interface FieldIssue {
  /** Index in a batch; absent for a single object. */
  index?: number;
  /** Dotted field path, e.g. "sessionDurationMs" or "custom.plan". */
  field: string;
  message: string;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

type ObjectSchema = TSchema & { properties?: Record<string, ObjectSchema>; 'x-expected'?: string };

/** The most specific expectation along a path: a nested field's own, else its parent's. */
function expectedAt(schema: ObjectSchema, segments: string[]): string | undefined {
  let node: ObjectSchema | undefined = schema;
  let expected: string | undefined;
  for (const s of segments) {
    node = node?.properties?.[s];
    if (!node) break;
    expected = node['x-expected'] ?? expected;
  }
  return expected;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function valueAt(root: unknown, segments: string[]): unknown {
  let node = root;
  for (const s of segments) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[s];
  }
  return node;
}

/** One issue per field, most specific message first; fields appear in the order the schema lists them. */
export function issuesFromErrors(schema: ObjectSchema, input: unknown, errors: readonly SchemaError[]): FieldIssue[] {
  const byField = new Map<string, FieldIssue>();
  for (const err of errors) {
    if (err.keyword === 'required') {
      for (const name of (err.params.requiredProperties as string[] | undefined) ?? []) {
        if (!(typeof input === 'object' && input !== null && name in input)) {
          const expected = schema.properties?.[name]?.['x-expected'];
          byField.set(name, { field: name, message: `is required${expected ? `: expected ${expected}` : ''}` });
        }
      }
      continue;
    }
    const segments = err.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const top = segments[0];
    if (top === undefined || byField.has(segments.join('.'))) continue;
    const field = segments.join('.');
    const expected = expectedAt(schema, segments);
    const got = describeValue(valueAt(input, segments));
    byField.set(field, {
      field,
      message: expected ? `expected ${expected}, got ${got}` : `${err.message}, got ${got}`,
    });
  }
  const order = Object.keys(schema.properties ?? {});
  return [...byField.values()].sort(
    (a, b) => order.indexOf(a.field.split('.')[0]!) - order.indexOf(b.field.split('.')[0]!),
  );
}
