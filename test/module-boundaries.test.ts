// The seams the engine, live tracker and WebSocket split rely on: src/tools/ modules are leaves (they import
// nothing from another src folder), the live tracker does not import the engine, and route modules do not
// import each other.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);
const tsFiles = (dir: string) =>
  readdirSync(join(SRC, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(SRC, dir, f));

describe('module boundaries', () => {
  test('src/tools/ modules import only each other and packages, and there is no index.ts', () => {
    const files = tsFiles('tools');
    expect(files.length).toBeGreaterThan(0);
    expect(files.some((f) => f.endsWith('/index.ts'))).toBe(false);
    for (const f of files)
      for (const spec of importsOf(f))
        if (spec.startsWith('.')) expect(spec, `${f} imports ${spec}`).toMatch(/^\.\/[^/]+\.ts$/);
  });

  test('the live tracker does not import the engine', () => {
    for (const f of tsFiles('live'))
      for (const spec of importsOf(f)) expect(spec, `${f} imports ${spec}`).not.toMatch(/engine\//);
  });

  // Shared pieces (OpenAPI fragments, parameter parsing, views) live in modules that define no routes; only
  // web-routes.ts, which gathers the dashboard's route lists for the app, imports route modules.
  test('route modules import no other route module', () => {
    const routes = new Set(
      tsFiles('http/routes')
        .filter((f) => readFileSync(f, 'utf8').includes(': RouteDef[] ='))
        .map((f) => f.split('/').pop()!),
    );
    expect(routes.size).toBeGreaterThan(15);
    for (const f of tsFiles('http/routes').filter((f) => !f.endsWith('/web-routes.ts')))
      for (const spec of importsOf(f))
        expect(routes.has(spec.replace(/^\.\//, '')), `${f} imports the route module ${spec}`).toBe(false);
  });
});
