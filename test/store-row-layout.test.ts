// The flat rows sent to the writer thread: the named offsets the writer reads them by agree with the order
// the row builders append values in, and with the columns of the statements they are bound to.
import { describe, expect, test } from 'vitest';
import { validateSessionBody, type PlayEvent } from '../src/ingest/index.ts';
import {
  CLOSED_PARAMS,
  closedParams,
  INSERT_CLOSED_SQL,
  INSERT_NEW_STARTED_SQL,
  INSERT_STARTED_SQL,
  PLAY_CLOSED,
  PLAY_OFFSET,
  PLAY_ROW_WIDTH,
  PLAY_STARTED,
  pushPlayRow,
  STARTED_PARAMS,
  startedParams,
} from '../src/store/sqlite/play-session-rows.ts';
import {
  pushSessionRow,
  SESSION_COLUMNS,
  SESSION_OFFSET,
  SESSION_ROW_WIDTH,
} from '../src/store/sqlite/session-rows.ts';
import { sdkSession } from './helpers/server.ts';

// Every field different, so a value read from the wrong offset cannot match by accident.
const event: PlayEvent = {
  event: 'play_closed',
  id: 'play-1',
  server: 'edge-1',
  channel: 'news',
  country: 'DE',
  protocol: 'hls',
  device: 'android',
  userId: 'u-7',
  userName: 'Ann',
  address: '10.0.0.7',
  userAgent: 'Agent/1.0',
  openedAt: 1_000,
  closedAt: 2_000,
  bytes: 3_000,
  reason: 'eof',
  raw: '{"event":"play_closed"}',
};
const RECEIVED_AT = 4_000;

/** Bound parameter per column name of an INSERT statement (columns bound to a literal are left out). */
function boundColumns(sql: string, params: unknown[]): Map<string, unknown> {
  const columns = /\(([^)]*)\)\s*VALUES/
    .exec(sql)![1]!
    .split(',')
    .map((c) => c.trim());
  const values = /VALUES \(([^)]*)\)/
    .exec(sql)![1]!
    .split(',')
    .map((v) => v.trim());
  expect(values).toHaveLength(columns.length);
  const bound = new Map<string, unknown>();
  let p = 0;
  columns.forEach((c, i) => {
    if (values[i] === '?') bound.set(c, params[p++]);
  });
  expect(p).toBe(params.length);
  return bound;
}

describe('play rows', () => {
  test('each named offset holds the field of that name', () => {
    const row: unknown[] = [];
    pushPlayRow(row, event, RECEIVED_AT);
    expect(row).toHaveLength(PLAY_ROW_WIDTH);
    const { kind, receivedAt, ...fields } = PLAY_OFFSET;
    expect(row[kind]).toBe(PLAY_CLOSED);
    expect(row[receivedAt]).toBe(RECEIVED_AT);
    for (const [name, offset] of Object.entries(fields)) expect(row[offset], name).toBe(event[name as keyof PlayEvent]);
    const started: unknown[] = [];
    pushPlayRow(started, { ...event, event: 'play_started' }, RECEIVED_AT);
    expect(started[kind]).toBe(PLAY_STARTED);
  });

  test('the bind values land in the columns of the same name', () => {
    const row: unknown[] = ['padding'];
    pushPlayRow(row, event, RECEIVED_AT);
    const common = {
      id: event.id,
      server: event.server,
      channel: event.channel,
      country: event.country,
      protocol: event.protocol,
      device: event.device,
      user_id: event.userId,
      user_name: event.userName,
      address: event.address,
      user_agent: event.userAgent,
      opened_at: event.openedAt,
      received_at: RECEIVED_AT,
    };
    const started = new Array<unknown>(STARTED_PARAMS);
    startedParams(started, row, 1);
    const startExpected = { ...common, start_bytes: event.bytes, start_event: event.raw };
    for (const sql of [INSERT_STARTED_SQL, INSERT_NEW_STARTED_SQL])
      expect(Object.fromEntries(boundColumns(sql, started))).toEqual(startExpected);

    const closed = new Array<unknown>(CLOSED_PARAMS);
    closedParams(closed, row, 1);
    expect(Object.fromEntries(boundColumns(INSERT_CLOSED_SQL, closed))).toEqual({
      ...common,
      closed_at: event.closedAt,
      close_bytes: event.bytes,
      reason: event.reason,
      close_event: event.raw,
    });
  });
});

test('session rows: each named offset holds its column, in SESSION_COLUMNS order', () => {
  const v = validateSessionBody(sdkSession({ sessionId: 's-1', contentId: 'film' }), 10);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  const row: unknown[] = [];
  pushSessionRow(row, 'app-1', v.sessions[0]!, RECEIVED_AT);
  expect(row).toHaveLength(SESSION_ROW_WIDTH);
  expect(Object.keys(SESSION_OFFSET)).toEqual([...SESSION_COLUMNS]);
  expect(row[SESSION_OFFSET.app_id]).toBe('app-1');
  expect(row[SESSION_OFFSET.session_id]).toBe('s-1');
  expect(row[SESSION_OFFSET.timestamp]).toBe(v.sessions[0]!.summary.timestamp);
  expect(row[SESSION_OFFSET.content_id]).toBe('film');
  expect(row[SESSION_OFFSET.received_at]).toBe(RECEIVED_AT);
});
