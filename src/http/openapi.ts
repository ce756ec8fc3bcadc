// Builds the OpenAPI 3.1 document from the route table, so a route cannot exist without its description.
import type { RouteDef } from './context.ts';
import { ErrorEnvelopeSchema } from './routes/openapi-shared.ts';

export function buildOpenApi(
  routes: RouteDef[],
  version: string,
  schemas: Record<string, unknown>,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if ('notInApi' in r.openapi) continue;
    const p = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[p] ??= {})[r.method.toLowerCase()] = r.openapi;
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
      schemas: { Error: ErrorEnvelopeSchema, ...schemas },
    },
  };
}
