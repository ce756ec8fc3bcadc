// Query strings read against a wire schema (an object of integer, boolean and string parameters): each value is
// checked by its parameter's schema, a bad or repeated one is a 400 INVALID_SCHEMA naming it, an absent one takes
// its default. The same schema gives the route's OpenAPI parameters (queryParametersOf).
import type { H3Event } from 'h3';
import type { Static, TObject, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError } from './errors.ts';

interface ParamSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  default?: unknown;
  description?: string;
  'x-expected'?: string;
}

/** The query text as the type its schema checks: integers and booleans are converted when they read as one. */
function typed(spec: ParamSchema, raw: string): unknown {
  if (spec.type === 'integer' && /^-?\d{1,16}$/.test(raw)) return Number(raw);
  if (spec.type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/** What a parameter accepts, in words, for its 400. */
function expected(spec: ParamSchema): string {
  if (spec['x-expected']) return spec['x-expected'];
  if (spec.type === 'integer') return `an integer from ${spec.minimum} to ${spec.maximum}`;
  if (spec.type === 'boolean') return 'true or false';
  if (spec.type === 'string' && spec.maxLength !== undefined) return `at most ${spec.maxLength} characters`;
  return `a ${spec.type}`;
}

/** A reader of the query parameters `schema` lists (others are ignored, as browsers and proxies add some). */
export function queryReader<T extends TObject>(schema: T) {
  // Compiled on first use, as body schemas are.
  let params: Array<{ name: string; spec: ParamSchema; check: ReturnType<typeof Compile> }> | undefined;
  return (event: H3Event): Static<T> => {
    params ??= Object.entries(schema.properties as Record<string, TSchema & ParamSchema>).map(([name, s]) => ({
      name,
      spec: s,
      check: Compile(s),
    }));
    const out: Record<string, unknown> = {};
    for (const { name, spec, check } of params) {
      const all = event.url.searchParams.getAll(name);
      // Two values for one parameter is ambiguous (which one did the caller mean?), so it is refused, not guessed.
      if (all.length > 1) throw new ApiError('INVALID_SCHEMA', `${name} must be given once, got ${all.length} values`);
      const raw = all[0];
      if (raw === undefined || raw === '') {
        if (spec.default !== undefined) out[name] = spec.default;
        continue;
      }
      // Postgres cannot store or compare text holding NUL; refused on every adapter alike.
      if (raw.includes('\u0000'))
        throw new ApiError('INVALID_SCHEMA', `${name} must not contain the NUL character (\\u0000)`);
      const value = typed(spec, raw);
      if (!check.Check(value))
        throw new ApiError(
          'INVALID_SCHEMA',
          `${name} must be ${expected(spec)}, got ${JSON.stringify(raw.slice(0, 40))}`,
        );
      out[name] = value;
    }
    return out as Static<T>;
  };
}

/** The OpenAPI query parameters of a query schema; required are those its object requires. */
export function queryParametersOf(schema: TObject) {
  return parametersOf(schema, 'query');
}

/** The OpenAPI parameters of an object schema, in the query or in the headers. */
export function parametersOf(schema: TObject, where: 'query' | 'header') {
  const required = new Set((schema as TObject & { required?: string[] }).required ?? []);
  return Object.entries(schema.properties as Record<string, TSchema & ParamSchema>).map(([name, s]) => {
    const { description, 'x-expected': _expected, ...rest } = s;
    return {
      name,
      in: where,
      required: required.has(name),
      schema: JSON.parse(JSON.stringify(rest)) as Record<string, unknown>,
      ...(description ? { description } : {}),
    };
  });
}
