// The boundaries between the parts of src/, read from the import statements of every src/**/*.ts file:
// no import cycle between folders, and no import into another folder that bypasses its index.ts.
// A folder is the first path segment under src/ (engine, live, store…); the files directly in src/
// (server.ts, version.ts) are the composition root: they may import any file, though a cycle through
// them still counts. src/tools/ and src/wire/ hold leaf modules: imported directly, and importing no other folder.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

/** One import: both ends relative to src/, e.g. cli/run.ts → config/index.ts. */
interface Import {
  from: string;
  to: string;
}

// Imports that bypass a folder's index.ts for a real need. Keep this list short; say why for each.
const ALLOWED_BYPASS: ReadonlyArray<{ to: string; why: string }> = [];

// Imports that break the rules today while a change that removes them lands in steps. Each
// entry must still exist (the test says so when one goes), so that the list empties as the work merges.
// Nothing may be added here: a new cycle or bypass is fixed, or it goes to ALLOWED_BYPASS with its reason.
const KNOWN_TODAY: ReadonlyArray<Import & { why: string }> = [];

/** Relative specifiers of every import, export-from, `import type` and `import()` in a TypeScript source. */
function specifiersOf(source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith('.'));
}

function readImports(): Import[] {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const imports: Import[] = [];
  for (const file of files) {
    const from = file.split(path.sep).join('/');
    for (const spec of specifiersOf(readFileSync(path.join(SRC, file), 'utf8'))) {
      const to = path
        .relative(SRC, path.resolve(SRC, path.dirname(file), spec))
        .split(path.sep)
        .join('/');
      if (!to.startsWith('..')) imports.push({ from, to }); // package.json and the like are outside src/
    }
  }
  return imports;
}

/** The folder a file belongs to; a file directly in src/ is its own node of the graph. */
function nodeOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file : file.slice(0, slash);
}

const isRoot = (file: string) => !file.includes('/');

/** Groups of nodes that reach each other (strongly connected components of more than one node), sorted. */
function findCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's algorithm; the graphs are a dozen nodes, so recursion depth is no concern.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The shortest path round a strongly connected group of nodes, as [a, b, …, a]. */
function shortestLoop(nodes: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  let best: string[] | undefined;
  for (const start of nodes) {
    // Breadth-first from start's successors back to start, inside the group.
    const cameFrom = new Map<string, string>();
    const queue = [...(edges.get(start) ?? [])].filter((n) => nodes.includes(n)).sort();
    for (const n of queue) cameFrom.set(n, start);
    while (queue.length > 0 && !cameFrom.has(start)) {
      const n = queue.shift()!;
      for (const m of [...(edges.get(n) ?? [])].sort())
        if (nodes.includes(m) && !cameFrom.has(m)) cameFrom.set(m, n), queue.push(m);
    }
    const path = [start];
    for (let n = cameFrom.get(start)!; n !== start; n = cameFrom.get(n)!) path.unshift(n);
    path.unshift(start);
    if (!best || path.length < best.length) best = path;
  }
  return best!;
}

/** Each cycle between folders: its members, and one loop through them with an import for each step. */
function cycleProblems(imports: readonly Import[]): string[] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const [a, b] = [nodeOf(from), nodeOf(to)];
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  }
  return findCycles(edges).map((nodes) => {
    const loop = shortestLoop(nodes, edges);
    const steps = loop.slice(1).map((to, i) => {
      const via = imports.find((x) => nodeOf(x.from) === loop[i] && nodeOf(x.to) === to)!;
      return `${via.from} -> ${via.to}`;
    });
    return `cycle between ${nodes.join(', ')}: ${loop.join(' -> ')} (${steps.join('; ')})`;
  });
}

/** Folders of leaf modules, imported directly: generic helpers, and the wire schemas (web/ imports them too). */
const LEAVES: ReadonlySet<string> = new Set(['tools', 'wire']);

/** Imports into another folder that skip its index.ts, and leaf modules that import another folder. */
function bypassProblems(imports: readonly Import[], allowed: ReadonlyArray<{ to: string }> = []): string[] {
  const problems: string[] = [];
  for (const { from, to } of imports) {
    const [a, b] = [nodeOf(from), nodeOf(to)];
    if (LEAVES.has(a) && b !== a) problems.push(`${from} -> ${to}: a ${a}/ module imports nothing else in src/`);
    if (a === b || isRoot(from) || isRoot(to)) continue;
    if (LEAVES.has(b) && to.split('/').length === 2) continue;
    if (to === `${b}/index.ts` || allowed.some((x) => x.to === to)) continue;
    problems.push(`${from} -> ${to}: import ${b}/index.ts instead (or move the shared piece to src/tools/)`);
  }
  return problems;
}

const same = (a: Import) => (b: Import) => a.from === b.from && a.to === b.to;

describe('boundaries between the parts of src/', () => {
  const all = readImports();
  const checked = all.filter((i) => !KNOWN_TODAY.some(same(i)));

  test('the import reader sees the imports (a sanity check on what the rules below run on)', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContainEqual({ from: 'server.ts', to: 'http/index.ts' });
    expect(all).toContainEqual({ from: 'store/sqlite/qoe-rollup-writer.ts', to: 'tools/startup-histogram.ts' });
  });

  test('no import cycle between folders', () => {
    expect(cycleProblems(checked)).toEqual([]);
  });

  test('imports from another folder go through its index.ts (tools/, wire/ and a short allowlist aside)', () => {
    expect(bypassProblems(checked, ALLOWED_BYPASS)).toEqual([]);
  });

  test('every KNOWN_TODAY exception still exists (delete the ones that are gone)', () => {
    expect(KNOWN_TODAY.filter((k) => !all.some(same(k))).map((k) => `${k.from} -> ${k.to}`)).toEqual([]);
  });

  test('every ALLOWED_BYPASS entry is still used', () => {
    expect(ALLOWED_BYPASS.filter((a) => !all.some((i) => i.to === a.to)).map((a) => a.to)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  test('the reader finds every kind of import, over several lines, and skips comments and strings', () => {
    const source = [
      "import type { A } from './a.ts';",
      'import {',
      '  b,',
      "} from '../b/index.ts';",
      "export * from './c.ts';",
      "const d = await import('./d.ts');",
      "import fs from 'node:fs';",
      "// import z from './commented.ts';",
      'const s = `import($' + '{d})`;', // a template string, not an import
    ].join('\n');
    expect(specifiersOf(source)).toEqual(['./a.ts', '../b/index.ts', './c.ts', './d.ts']);
  });

  test('the cycle finder finds cycles, and only cycles', () => {
    const graph = (pairs: string[]) => {
      const edges = new Map<string, Set<string>>();
      for (const p of pairs) {
        const [a, b] = p.split('>') as [string, string];
        if (!edges.has(a)) edges.set(a, new Set());
        edges.get(a)!.add(b);
      }
      return edges;
    };
    expect(findCycles(graph(['a>b', 'b>c', 'a>c', 'd>a']))).toEqual([]);
    expect(findCycles(graph(['a>b', 'b>c', 'c>a', 'c>d']))).toEqual([['a', 'b', 'c']]);
    expect(findCycles(graph(['x>y', 'y>x', 'a>b', 'b>a', 'b>x']))).toEqual([
      ['a', 'b'],
      ['x', 'y'],
    ]);
  });

  test('a cycle between folders is reported with the files that close it; one inside a folder is not', () => {
    const imports: Import[] = [
      { from: 'engine/engine.ts', to: 'live/index.ts' },
      { from: 'live/tracker.ts', to: 'engine/stream-rollup.ts' },
      { from: 'cli/run.ts', to: 'cli/admin.ts' },
      { from: 'cli/admin.ts', to: 'cli/run.ts' },
      { from: 'server.ts', to: 'engine/index.ts' },
    ];
    expect(cycleProblems(imports)).toEqual([
      'cycle between engine, live: engine -> live -> engine ' +
        '(engine/engine.ts -> live/index.ts; live/tracker.ts -> engine/stream-rollup.ts)',
    ]);
    // In a larger group, the shortest loop is the one shown.
    expect(
      cycleProblems([
        { from: 'a/x.ts', to: 'b/index.ts' },
        { from: 'b/y.ts', to: 'c/index.ts' },
        { from: 'c/z.ts', to: 'a/index.ts' },
        { from: 'b/w.ts', to: 'a/index.ts' },
      ]),
    ).toEqual(['cycle between a, b, c: a -> b -> a (a/x.ts -> b/index.ts; b/w.ts -> a/index.ts)']);
    // Through the composition root too: a part that imports server.ts, which imports that part.
    expect(cycleProblems([...imports.slice(2), { from: 'engine/moments.ts', to: 'server.ts' }])).toHaveLength(1);
  });

  test('bypassing an index.ts is reported; tools/, wire/, the root and the allowlist are not', () => {
    const imports: Import[] = [
      { from: 'live/tracker.ts', to: 'engine/stream-rollup.ts' },
      { from: 'store/sqlite/qoe-rollup-writer.ts', to: 'tools/startup-histogram.ts' },
      { from: 'server.ts', to: 'http/context.ts' },
      { from: 'cli/serve.ts', to: 'server.ts' },
      { from: 'store/sqlite/migrate.ts', to: 'runtime/embedded.ts' },
      { from: 'http/routes/apps.ts', to: 'http/context.ts' },
      { from: 'tools/field-issues.ts', to: 'ingest/index.ts' },
      { from: 'http/routes/videos.ts', to: 'wire/videos.ts' },
      { from: 'wire/videos.ts', to: 'media/index.ts' },
    ];
    expect(bypassProblems(imports, [{ to: 'runtime/embedded.ts' }])).toEqual([
      'live/tracker.ts -> engine/stream-rollup.ts: ' +
        'import engine/index.ts instead (or move the shared piece to src/tools/)',
      'tools/field-issues.ts -> ingest/index.ts: a tools/ module imports nothing else in src/',
      'wire/videos.ts -> media/index.ts: a wire/ module imports nothing else in src/',
    ]);
  });
});

describe("the README's layout", () => {
  test('its table lists every src/ folder and root file, and nothing that is not there', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    const listed = [...readme.matchAll(/^ {2}\| `src\/([^`]+)`/gm)].map((m) => m[1]!).sort();
    const actual = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
      .map((e) => e.name)
      .sort();
    expect(listed).toEqual(actual);
  });
});
