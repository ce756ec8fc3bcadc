// Query strings read against a wire schema (an object of integer and string parameters): each value is checked
// by its parameter's schema, a bad one is a 400 INVALID_SCHEMA naming it, an absent one takes its default. The
// same schema gives the route's OpenAPI parameters (queryParametersOf).
import type { H3Event } from 'h3';
import type { Static, TObject, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError } from './errors.ts';

interface ParamSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  'x-expected'?: string;
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
      const raw = event.url.searchParams.get(name);
      if (raw === null || raw === '') {
        if (spec.default !== undefined) out[name] = spec.default;
        continue;
      }
      const value = spec.type === 'integer' && /^-?\d{1,16}$/.test(raw) ? Number(raw) : raw;
      if (!check.Check(value)) {
        const expected =
          spec['x-expected'] ??
          (spec.type === 'integer' ? `an integer from ${spec.minimum} to ${spec.maximum}` : `a ${spec.type}`);
        throw new ApiError('INVALID_SCHEMA', `${name} must be ${expected}, got ${JSON.stringify(raw.slice(0, 40))}`);
      }
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
