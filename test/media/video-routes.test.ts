// The video resources without transcoding: a list paged newest first, renaming with its validation, deleting,
// and scoping (a member sees only the videos of apps granted to them; another app's video answers 404).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('video resources', () => {
  let ts: TestServer;
  let admin: string;
  const ids: string[] = [];

  beforeAll(async () => {
    ts = await startTestServer({ minFreeDiskBytes: 0 });
    admin = (await setupAdmin(ts)).accessToken;
    await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: 'second' } });
    // Videos still uploading (a tus upload in progress), 5 in default and 1 in "second", a millisecond apart.
    for (let i = 0; i < 6; i++) {
      const id = `routevideo${i}`;
      await ts.server.store.videos.createVideo({
        id,
        appId: i < 5 ? 'default' : 'second',
        title: `Video ${i}`,
        status: 'uploading',
        uploadLength: 100,
        createdAt: 1_700_000_000_000 + i,
      });
      ids.push(id);
    }
  });
  afterAll(async () => {
    await ts?.close();
  });

  test('the list is paged newest first; next leads to the following page and ends with null', async () => {
    const first = await call(ts, 'GET', '/api/v1/videos?app=default&limit=2', { token: admin });
    expect(first.status).toBe(200);
    expect(first.json!.videos.map((v: any) => v.id)).toEqual(['routevideo4', 'routevideo3']);
    expect(first.json!.videos[0]).toMatchObject({
      appId: 'default',
      status: 'uploading',
      progress: 0,
      renditions: [],
      posterUrl: null,
    });
    const second = await call(ts, 'GET', `/api/v1/videos?app=default&limit=2&before=${first.json!.next}`, {
      token: admin,
    });
    expect(second.json!.videos.map((v: any) => v.id)).toEqual(['routevideo2', 'routevideo1']);
    const last = await call(ts, 'GET', `/api/v1/videos?app=default&limit=2&before=${second.json!.next}`, {
      token: admin,
    });
    expect(last.json!.videos.map((v: any) => v.id)).toEqual(['routevideo0']);
    expect(last.json!.next).toBeNull();
    expect((await call(ts, 'GET', '/api/v1/videos?app=default&before=nonsense', { token: admin })).status).toBe(400);
    expect((await call(ts, 'GET', '/api/v1/videos?app=default&limit=0', { token: admin })).status).toBe(400);
    // An admin who sees two apps names one.
    expect((await call(ts, 'GET', '/api/v1/videos', { token: admin })).status).toBe(400);
  });

  test('rename: the title only, 1 to 200 characters, control characters made spaces', async () => {
    const ok = await call(ts, 'PATCH', '/api/v1/videos/routevideo0', {
      token: admin,
      body: { title: ' Beach\u0007day ' },
    });
    expect(ok.status).toBe(200);
    expect(ok.json!.title).toBe('Beach day');
    for (const body of [{ title: '' }, { title: 't'.repeat(201) }, { title: 5 }, { status: 'ready' }, {}]) {
      const r = await call(ts, 'PATCH', '/api/v1/videos/routevideo0', { token: admin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json!.error.code).toBe('INVALID_SCHEMA');
      expect(r.json!.error.message, JSON.stringify(body)).toMatch(/title|status/);
    }
  });

  test('a member sees only granted apps: another app’s video is 404 for every route', async () => {
    const member = (await createUser(ts, admin, 'member@example.com', 'member', ['default'])).accessToken;
    expect((await call(ts, 'GET', '/api/v1/videos/routevideo1', { token: member })).status).toBe(200);
    const other = 'routevideo5';
    for (const [method, path, body] of [
      ['GET', `/api/v1/videos/${other}`],
      ['PATCH', `/api/v1/videos/${other}`, { title: 'x' }],
      ['DELETE', `/api/v1/videos/${other}`],
      ['POST', `/api/v1/videos/${other}/retry`],
      ['POST', `/api/v1/videos/${other}/playback`],
      ['GET', '/api/v1/videos?app=second'],
    ] as const) {
      const r = await call(ts, method, path, { token: member, body });
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await call(ts, 'GET', '/api/v1/videos/routevideo5', { token: admin })).status).toBe(200);
  });

  test('delete: 204, then 404; a video with nothing ready answers playback with 409 NOT_READY', async () => {
    const r = await call(ts, 'POST', '/api/v1/videos/routevideo1/playback', { token: admin });
    expect(r.status).toBe(409);
    expect(r.json!.error.code).toBe('NOT_READY');
    expect((await call(ts, 'DELETE', '/api/v1/videos/routevideo2', { token: admin })).status).toBe(204);
    expect((await call(ts, 'GET', '/api/v1/videos/routevideo2', { token: admin })).status).toBe(404);
    expect((await call(ts, 'DELETE', '/api/v1/videos/routevideo2', { token: admin })).status).toBe(404);
    expect((await call(ts, 'GET', '/api/v1/videos/..%2F..%2Fetc', { token: admin })).status).toBe(404);
  });
});
