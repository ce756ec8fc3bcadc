// Hostile members and connections: every bad frame is refused with an `error` naming the problem, or the
// connection with a close code; the room, its other members and the server carry on.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN, call, CookieClient, createUser } from '../helpers/accounts.ts';
import { RoomClient } from './room-client.ts';
import { inviteToken, joinAsGuest, joinAsUser, roomFixture, type RoomFixture, ticket, wsUrl } from './room-fixture.ts';

let f: RoomFixture;
let otherRoom: string;
let host: RoomClient;
let observer: RoomClient;
let hostile: RoomClient;
const extra: RoomClient[] = [];

beforeAll(async () => {
  f = await roomFixture();
  otherRoom = (
    await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'Other', videoId: f.videoId } })
  ).json!.id as string;
  host = await joinAsUser(f, f.admin);
  observer = await joinAsGuest(f, await inviteToken(f, 'observer'));
  hostile = await joinAsGuest(f, await inviteToken(f, 'hostile'));
});
afterAll(async () => {
  for (const c of [host, observer, hostile, ...extra]) c.close();
  await f.ts.close();
});

const BAD_FRAMES: Array<[string, string, string]> = [
  ['malformed JSON', '{"type":"play",', 'INVALID_MESSAGE'],
  ['a JSON array', '[1,2,3]', 'INVALID_MESSAGE'],
  ['JSON null', 'null', 'INVALID_MESSAGE'],
  ['a bare string', '"play"', 'INVALID_MESSAGE'],
  ['no type', '{"position":3}', 'UNKNOWN_TYPE'],
  ['an unknown type', '{"type":"self-destruct"}', 'UNKNOWN_TYPE'],
  ['a position as a string', '{"type":"play","position":"10"}', 'INVALID_MESSAGE'],
  ['a huge position', '{"type":"seek","position":1e300}', 'INVALID_MESSAGE'],
  ['an infinite position', '{"type":"seek","position":1e999}', 'INVALID_MESSAGE'],
  ['NaN (not JSON)', '{"type":"seek","position":NaN}', 'INVALID_MESSAGE'],
  ['a negative position', '{"type":"seek","position":-5}', 'INVALID_MESSAGE'],
  ['a negative rate', '{"type":"rate","rate":-1}', 'INVALID_MESSAGE'],
  ['a zero rate', '{"type":"rate","rate":0}', 'INVALID_MESSAGE'],
  ['an absurd rate', '{"type":"rate","rate":1000000}', 'INVALID_MESSAGE'],
  ['a ping without a clock', '{"type":"ping","clientTime":"now"}', 'INVALID_MESSAGE'],
  ['chat that is an object', '{"type":"chat","text":{"html":"<b>"}}', 'INVALID_MESSAGE'],
  ['chat of control characters only', '{"type":"chat","text":"\\u0000\\u0007\\u001b"}', 'INVALID_MESSAGE'],
  ['a kick with a path for an id', '{"type":"kick","memberId":"../../etc/passwd"}', 'INVALID_MESSAGE'],
  ['a kick from a guest', '{"type":"kick","memberId":"m123"}', 'FORBIDDEN'],
  ['a hand-over from a guest', '{"type":"host","memberId":"m123"}', 'FORBIDDEN'],
  ['a fractional message id', '{"type":"chat-delete","messageId":1.5}', 'INVALID_MESSAGE'],
  ['deleting a message that does not exist', '{"type":"chat-delete","messageId":999999}', 'FORBIDDEN'],
  ['a state with a wrong flag', '{"type":"state","position":1,"paused":"yes","buffering":false}', 'INVALID_MESSAGE'],
  ['a lock as a string', '{"type":"lock","locked":"true"}', 'INVALID_MESSAGE'],
  ['a frame over 4 KiB', JSON.stringify({ type: 'chat', text: 'y'.repeat(5000) }), 'PAYLOAD_TOO_LARGE'],
  ['a pong for a ping never sent', '{"type":"pong","serverTime":1}', ''],
];

describe('hostile frames from a member', () => {
  for (const [what, frame, code] of BAD_FRAMES)
    test(`${what}: ${code || 'ignored'}`, async () => {
      const from = hostile.mark();
      hostile.sendRaw(frame);
      hostile.send({ type: 'ping', clientTime: 42 }); // still served afterwards
      await hostile.after(from, 'pong', (m) => m.clientTime === 42);
      const errors = hostile.messages.slice(from).filter((m) => m.type === 'error');
      if (!code) expect(errors).toEqual([]);
      else {
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({ code });
        expect(typeof errors[0]!.message).toBe('string');
        expect(typeof errors[0]!.serverTime).toBe('number');
      }
    });

  test('a binary frame of garbage is refused as not JSON', async () => {
    const from = hostile.mark();
    hostile.sendRaw(Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    expect(await hostile.after(from, 'error')).toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  test('a command naming another room acts on this room only', async () => {
    const before = (await call(f.ts, 'GET', `/api/v1/rooms/${otherRoom}`, { token: f.admin })).json!.state;
    const from = observer.mark();
    hostile.send({ type: 'seek', position: 77, roomId: otherRoom, room: otherRoom });
    await observer.after(from, 'command', (m) => m.position === 77);
    const after = (await call(f.ts, 'GET', `/api/v1/rooms/${otherRoom}`, { token: f.admin })).json!.state;
    expect(after).toMatchObject({ position: before.position, seq: before.seq });
  });

  test('the others were unaffected: still connected, still in sync', async () => {
    const o = observer.mark();
    await new Promise((r) => setTimeout(r, 300));
    host.send({ type: 'play', position: 5 });
    expect(await observer.after(o, 'command', (m) => m.position === 5)).toMatchObject({ action: 'play' });
    expect(observer.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect((await call(f.ts, 'GET', '/health')).status).toBe(200);
  });
});

describe('hostile connections', () => {
  test('a 1 MB frame closes that connection (1009); the room goes on', async () => {
    const c = await joinAsGuest(f, await inviteToken(f, 'big'));
    extra.push(c);
    c.sendRaw('x'.repeat(1024 * 1024));
    expect((await c.closed).code).toBe(1009);
    const o = observer.mark();
    host.send({ type: 'seek', position: 6 });
    await observer.after(o, 'command', (m) => m.position === 6);
  });

  test('a flood of commands: errors past 20 a second, then disconnected past 60', async () => {
    const c = await joinAsGuest(f, await inviteToken(f, 'flood'));
    extra.push(c);
    const from = c.mark();
    for (let i = 0; i < 100; i++) c.sendRaw(JSON.stringify({ type: 'seek', position: i }));
    expect((await c.closed).code).toBe(4429);
    const errors = c.messages.slice(from).filter((m) => m.type === 'error');
    expect(errors.some((e) => e.code === 'RATE_LIMIT_EXCEEDED')).toBe(true);
    expect(c.messages.slice(from).filter((m) => m.type === 'command').length).toBeLessThanOrEqual(20);
    expect(c.messages.some((m) => m.type === 'bye' && m.reason === 'flooding')).toBe(true);
  });

  test('a chat flood is throttled for that member only', async () => {
    const c = await joinAsGuest(f, await inviteToken(f, 'spammer'));
    extra.push(c);
    const from = c.mark();
    for (let i = 0; i < 15; i++) c.send({ type: 'chat', text: `spam ${i}` });
    await c.after(from, 'error', (m) => m.code === 'RATE_LIMIT_EXCEEDED');
    const o = observer.mark();
    observer.send({ type: 'chat', text: 'I can still talk' });
    await observer.after(o, 'chat', (m) => m.text === 'I can still talk');
  });

  const refusals: Array<[string, () => Promise<string>, number]> = [
    ['no credentials at all', async () => wsUrl(f.ts, f.roomId), 4401],
    [
      'a guest token for another room',
      async () => wsUrl(f.ts, f.roomId, `?token=${await inviteToken(f, 'x', otherRoom)}`),
      4401,
    ],
    [
      'an expired guest token',
      async () =>
        wsUrl(f.ts, f.roomId, `?token=${await f.ts.server.accounts.signer.signGuest(`room:${f.roomId}`, 'late', -60)}`),
      4401,
    ],
    [
      'a forged guest token',
      async () => {
        const t = await inviteToken(f, 'forger');
        return wsUrl(f.ts, f.roomId, `?token=${t.slice(0, -4)}AAAA`);
      },
      4401,
    ],
    [
      'a room that does not exist',
      async () => wsUrl(f.ts, 'nosuchroom123', `?token=${await inviteToken(f, 'y')}`),
      4404,
    ],
    ['a malformed room id', async () => wsUrl(f.ts, 'bad!id', ''), 4404],
    [
      "a user without access to the room's app",
      async () => {
        const outsider = await createUser(f.ts, f.admin, 'outsider@example.com', 'member', []);
        return wsUrl(f.ts, f.roomId, `?ticket=${await ticket(f.ts, outsider.accessToken)}`);
      },
      4404,
    ],
    ['a ticket that is not one', async () => wsUrl(f.ts, f.roomId, '?ticket=abc.def.ghi'), 4401],
  ];
  // Retried: under a loaded full run a refused socket has, rarely, never been closed (seen once for the forged
  // token, 30 s without a close frame; it passes alone). A refusal that is wrong fails every try.
  for (const [what, url, code] of refusals)
    test(`refused: ${what} (${code})`, { retry: 2, timeout: 15_000 }, async () => {
      const c = await RoomClient.open(await url());
      extra.push(c);
      const closed = await c.closed;
      expect(closed.code).toBe(code);
      expect(closed.reason.length).toBeGreaterThan(0);
      expect(c.messages.filter((m) => m.type === 'welcome')).toEqual([]);
    });

  test('cookie sign-in from another site is refused (4403); from this origin it is accepted', async () => {
    const browser = new CookieClient(f.ts);
    expect((await browser.call('POST', '/api/v1/auth/login', { body: { ...ADMIN, session: 'cookie' } })).status).toBe(
      200,
    );
    const cookie = [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const evil = await RoomClient.open(wsUrl(f.ts, f.roomId), { headers: { cookie, origin: 'https://evil.example' } });
    expect((await evil.closed).code).toBe(4403);
    const good = await RoomClient.open(wsUrl(f.ts, f.roomId), { headers: { cookie, origin: f.ts.url } });
    extra.push(good);
    expect((await good.welcome()).role).toBe('host');
  });
});
