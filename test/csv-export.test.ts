// CSV exports against the JSON API for the same filters: every session the JSON pages list is a CSV record with
// the same values, in the same order, across the export's internal pages; commas, quotes and line breaks survive
// RFC 4180 quoting, and a cell a spreadsheet would run as a formula is defused with a leading apostrophe.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/index.ts';
import { validateSessionBody } from '../src/ingest/index.ts';
import { csvCell } from '../src/tools/csv.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

/** An RFC 4180 reader written here: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field === '' && record.length === 0, 'the last record ends with CRLF').toBe(true);
  return records;
}

/** What a CSV cell holds for a JSON value: text as is (formula-like text with an apostrophe), numbers as numbers. */
function expectedCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

/** Ingestion refuses control characters, but rows from older versions (or another writer) may hold line breaks. */
const WITH_BREAKS = ['two\nlines', 'crlf\r\ninside', '=line\nbreak, "and" all'];
const TRICKY = [
  'Movie, with a comma',
  'She said "hello"',
  '=HYPERLINK("http://evil.example","click")',
  '+SUM(A1:A2)',
  '-2+3',
  '@cmd',
  'plain',
];

describe('CSV export', () => {
  let ts: TestServer;
  let readKey: string;
  const base = Date.now() - 3_600_000;
  beforeAll(async () => {
    ts = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    readKey = (await createApiKey(ts.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
    // 2,400 sessions: the export pages through them (1,000 at a time) and must not lose or repeat a row.
    for (let batch = 0; batch < 3; batch++) {
      const sessions = Array.from({ length: 800 }, (_, i) => {
        const n = batch * 800 + i;
        const tricky = TRICKY[n % TRICKY.length]!;
        return sdkSession({
          sessionId: `csv-${n}`,
          // Several sessions share each timestamp, so paging must use the row id too.
          timestamp: base + Math.floor(n / 3) * 1000,
          contentId: n % 2 ? tricky : `content-${n % 5}`,
          contentTitle: tricky,
          deviceModel: n % 4 === 0 ? '=cmd|" /C calc"!A0' : 'Pixel 8',
          errorCount: n % 10 === 0 ? 1 : 0,
          errorCode: n % 10 === 0 ? 'ERROR_CODE_IO, "network"' : null,
          rebufferRatio: n % 7 ? 0.0125 : null,
        });
      });
      const posted = await postSessions(ts.url, sessions, { key: ts.apiKey });
      expect(posted.status, await posted.clone().text()).toBe(200);
    }
    const stored = WITH_BREAKS.map((title, i) => {
      const v = validateSessionBody(sdkSession({ sessionId: `csv-break-${i}`, timestamp: base + 5_000 + i }), 10);
      if (!v.ok) throw new Error('sdkSession is valid');
      const s = v.sessions[0]!;
      return { ...s, summary: { ...s.summary, contentTitle: title, contentId: title } };
    });
    await ts.server.store.upsertSessions('default', stored, Date.now());
  }, 120_000);
  afterAll(() => ts.close());

  const get = (p: string) => fetch(`${ts.url}${p}`, { headers: { 'x-api-key': readKey } });
  async function allJson(params: string): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/api/v1/sessions?${params}&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { sessions: Array<Record<string, unknown>>; nextCursor: string | null };
      out.push(...body.sessions);
      cursor = body.nextCursor;
    } while (cursor);
    return out;
  }

  for (const [label, params] of [
    ['every session', 'app=default'],
    [
      'errors only, one device, a time range',
      `app=default&errorsOnly=true&device=pixel&from=${base + 100_000}&to=${base + 700_000}`,
    ],
    ['content search for a quoted title', `app=default&content=${encodeURIComponent('"hello"')}`],
  ] as const)
    test(`sessions.csv equals the JSON API: ${label}`, async () => {
      const res = await get(`/api/v1/sessions.csv?${params}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="sessions-default.csv"');
      const [header, ...records] = parseCsv(await res.text());
      const json = await allJson(params);
      expect(json.length).toBeGreaterThan(0);
      expect(records.length).toBe(json.length);
      expect(header![0]).toBe('sessionId');
      records.forEach((record, i) => {
        const s = json[i]!;
        expect(record.length).toBe(header!.length);
        header!.forEach((column, c) => {
          const want = column === 'time' ? new Date(s.timestamp as number).toISOString() : expectedCell(s[column]);
          expect(record[c], `${s.sessionId} ${column}`).toBe(want);
        });
      });
    });

  test('the tricky values come back whole, and formula-like text never starts a cell', async () => {
    const text = await (await get('/api/v1/sessions.csv?app=default')).text();
    const [header, ...records] = parseCsv(text);
    const title = header!.indexOf('contentTitle');
    const titles = new Set(records.map((r) => r[title]));
    for (const t of [...TRICKY, ...WITH_BREAKS]) expect(titles.has(expectedCell(t)), t).toBe(true);
    for (const r of records) for (const cell of r) expect(cell).not.toMatch(/^[=+@\t\r]/);
    // The raw text quotes a cell with a line break and doubles its quotes.
    expect(text).toContain('"She said ""hello"""');
    expect(text).toContain('"two\nlines"');
    expect(text).toContain('"crlf\r\ninside"');
    expect(text).toContain(`"'=line\nbreak, ""and"" all"`);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
  });

  test('breakdown.csv equals the breakdown JSON', async () => {
    const params = `app=default&dimension=contentId&from=${base - 3_600_000}&to=${Date.now() + 60_000}&step=3600`;
    const json = (await (await get(`/api/v1/qoe/breakdown?${params}`)).json()) as {
      rows: Array<Record<string, unknown>>;
    };
    const res = await get(`/api/v1/qoe/breakdown.csv?${params}`);
    expect(res.status).toBe(200);
    const [header, ...records] = parseCsv(await res.text());
    expect(header![0]).toBe('contentId');
    expect(records.length).toBe(json.rows.length);
    records.forEach((record, i) => {
      const row = json.rows[i]!;
      expect(record[0]).toBe(expectedCell(row.value));
      header!.slice(1).forEach((m, c) => {
        expect(record[c + 1], m).toBe(expectedCell(row[m]));
      });
    });
    expect(records.map((r) => r[0])).toContain(`'=HYPERLINK("http://evil.example","click")`);
  });

  test('bad filters are refused like the JSON API refuses them', async () => {
    const bad = await get('/api/v1/sessions.csv?app=default&errorsOnly=maybe');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/errorsOnly/);
    expect((await get('/api/v1/qoe/breakdown.csv?app=default&dimension=planet')).status).toBe(400);
  });

  test('csvCell: RFC 4180 quoting and formula defusing, numbers untouched', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "x"')).toBe('"say ""x"""');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(null)).toBe('');
  });
});
