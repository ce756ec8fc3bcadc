// Builds the OpenAPI 3.1 document from the route table, so a route cannot exist without its description.
// Wire schemas that name themselves ($id) become components and are referenced by name wherever routes use them.
import type { RouteDef } from './context.ts';
import { ErrorEnvelope } from '../wire/errors.ts';

const COMPONENT_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** A copy of `node` in which every named schema is a $ref, its body collected into `components`. */
function hoistNamed(node: unknown, components: Map<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((n) => hoistNamed(n, components));
  if (typeof node !== 'object' || node === null || node instanceof RegExp) return node;
  const { $id, ...rest } = node as Record<string, unknown>;
  const body = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, hoistNamed(v, components)]));
  if (typeof $id !== 'string' || !COMPONENT_NAME.test($id)) return $id === undefined ? body : { $id, ...body };
  const known = components.get($id);
  if (known === undefined) components.set($id, body);
  else if (JSON.stringify(known) !== JSON.stringify(body))
    throw new Error(`two different wire schemas are both named ${$id}`);
  return { $ref: `#/components/schemas/${$id}` };
}

export function buildOpenApi(
  routes: RouteDef[],
  version: string,
  schemas: Record<string, unknown>,
): Record<string, unknown> {
  const named = new Map<string, unknown>();
  hoistNamed(ErrorEnvelope, named); // every error response refers to it
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if ('notInApi' in r.openapi) continue;
    const p = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[p] ??= {})[r.method.toLowerCase()] = hoistNamed(r.openapi, named);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'm3w',
      version,
      description: 'Self-hosted video backend: QoE telemetry ingestion, streaming analytics, dashboard.',
    },
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'm3w_access',
          description: 'Browsers; state-changing requests also need X-CSRF-Token',
        },
        apiKeyQuery: { type: 'apiKey', in: 'query', name: 'key' },
      },
      schemas: { ...schemas, ...Object.fromEntries(named) },
    },
  };
}
