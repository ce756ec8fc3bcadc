// The video library and rooms parts of the Store contract, on every adapter (test/helpers/stores.ts).
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { NewRendition, OpenedStore, RoomMemberRecord } from '../../src/store/index.ts';
import { adapters, openTestStore, type OpenedTestStore } from '../helpers/stores.ts';

const T0 = 1_762_999_200_000;
const probed = {
  sourceBytes: 1_000_000,
  durationMs: 60_000,
  width: 1920,
  height: 1080,
  sourceInfo: '{"codec":"h264"}',
};
const ladder: NewRendition[] = [
  { height: 720, width: 1280, videoBitrate: 3_000_000, mode: 'encode' },
  { height: 360, width: 640, videoBitrate: 800_000, mode: 'encode' },
  { height: 1080, width: 1920, videoBitrate: 6_000_000, mode: 'copy' },
];

describe.each(adapters())('video and room contract on %s', (adapter) => {
  let t: OpenedTestStore;
  let store: OpenedStore;
  beforeEach(async () => {
    t = await openTestStore(adapter);
    store = t.store;
    await store.ensureApp('a1', 'App one', T0);
    await store.ensureApp('a2', 'App two', T0);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test('videos: create, list newest first with paging, rename, stale uploads, ids, delete', async () => {
    const v = store.videos;
    for (let i = 0; i < 5; i++)
      await v.createVideo({
        id: `v${i}`,
        appId: i < 4 ? 'a1' : 'a2',
        title: `Video ${i}`,
        status: 'uploading',
        uploadLength: i === 0 ? 1234 : null,
        createdAt: T0 + Math.floor(i / 2), // pairs share a creation time
      });
    expect(await v.getVideo('v0')).toEqual({
      id: 'v0',
      appId: 'a1',
      title: 'Video 0',
      status: 'uploading',
      error: null,
      uploadLength: 1234,
      sourceBytes: null,
      durationMs: null,
      width: null,
      height: null,
      sourceInfo: null,
      createdAt: T0,
      updatedAt: T0,
    });
    const page1 = await v.listVideos({ appId: 'a1', limit: 3 });
    expect(page1.videos.map((x) => x.id)).toEqual(['v3', 'v2', 'v1']);
    expect(page1.hasMore).toBe(true);
    const last = page1.videos.at(-1)!;
    const page2 = await v.listVideos({ appId: 'a1', limit: 3, before: { createdAt: last.createdAt, id: last.id } });
    expect(page2).toEqual({ videos: [expect.objectContaining({ id: 'v0' })], hasMore: false });
    expect(await v.renameVideo('v1', 'New title', T0 + 100)).toMatchObject({ title: 'New title', updatedAt: T0 + 100 });
    expect(await v.renameVideo('nope', 'x', T0)).toBeNull();
    await v.touchVideo('v2', T0 + 200);
    expect((await v.listStaleUploads(T0 + 150)).map((x) => x.id).sort()).toEqual(['v0', 'v1', 'v3', 'v4']);
    expect((await v.listVideoIds('a1')).sort()).toEqual(['v0', 'v1', 'v2', 'v3']);
    expect((await v.listVideoIds()).length).toBe(5);
    expect(await v.deleteVideo('v3')).toBe(true);
    expect(await v.deleteVideo('v3')).toBe(false);
    // Deleting the app deletes its videos.
    await store.deleteApp('a2');
    expect(await v.listVideoIds()).not.toContain('v4');
  });

  test("transcode jobs with instances: each puts back only its own; a dead one's are adopted once stale", async () => {
    await store.videos.createVideo({
      id: 'v1',
      appId: 'a1',
      title: 't',
      status: 'uploading',
      uploadLength: null,
      createdAt: T0,
    });
    await store.videos.queueVideo('v1', probed, ladder, T0 + 10);
    // A second store on the same database: another instance on Postgres. On SQLite the instance lock allows one
    // process, so every running job is that process's and none is ever abandoned.
    const other = await t.another();
    try {
      const mine = (await store.videos.claimVideoJob(T0 + 20))!;
      const theirs = (await other.videos.claimVideoJob(T0 + 20))!;
      expect(mine.id).not.toBe(theirs.id);
      if (store.sharedByInstances) {
        // Shutting down (or restarting) puts back this instance's job only: the other one is still running it.
        expect((await store.videos.requeueRunningVideoJobs(T0 + 30)).map((j) => j.id)).toEqual([mine.id]);
        // Touched recently: not abandoned. Then its instance goes silent past the lease: adopted, once.
        await other.videos.setVideoJobProgress(theirs.id, 0.5, T0 + 40);
        expect(await store.videos.requeueAbandonedVideoJobs(T0 + 40, T0 + 50)).toEqual([]);
        expect((await store.videos.requeueAbandonedVideoJobs(T0 + 41, T0 + 50)).map((j) => j.id)).toEqual([theirs.id]);
        expect(await store.videos.requeueAbandonedVideoJobs(T0 + 100, T0 + 100)).toEqual([]);
        // Its own running job is never "abandoned" in its own eyes.
        const again = (await other.videos.claimVideoJob(T0 + 60))!;
        expect(await other.videos.requeueAbandonedVideoJobs(T0 + 1_000, T0 + 1_000)).toEqual([]);
        expect((await store.videos.requeueAbandonedVideoJobs(T0 + 1_000, T0 + 1_000)).map((j) => j.id)).toEqual([
          again.id,
        ]);
      } else {
        // One process: every running job is its own.
        expect(await store.videos.requeueAbandonedVideoJobs(T0 + 1_000, T0 + 1_000)).toEqual([]);
        expect((await store.videos.requeueRunningVideoJobs(T0 + 30)).map((j) => j.id).sort()).toEqual(
          [mine.id, theirs.id].sort(),
        );
      }
      expect((await store.videos.listVideoJobs('v1')).every((j) => j.status === 'queued')).toBe(true);
    } finally {
      await other.close();
    }
  });

  test('videos: queueing plans renditions and jobs; claiming, progress, finishing and retries drive the status', async () => {
    const v = store.videos;
    await v.createVideo({ id: 'v1', appId: 'a1', title: 't', status: 'uploading', uploadLength: null, createdAt: T0 });
    await v.createVideo({
      id: 'v2',
      appId: 'a1',
      title: 't',
      status: 'uploading',
      uploadLength: null,
      createdAt: T0 + 1,
    });
    const queued = await v.queueVideo('v1', probed, ladder, T0 + 10);
    expect(queued).toMatchObject({ status: 'queued', sourceBytes: 1_000_000, width: 1920, durationMs: 60_000 });
    expect(await v.queueVideo('v1', probed, ladder, T0 + 11)).toBeNull(); // no longer uploading
    expect((await v.listRenditions('v1')).map((r) => [r.height, r.status, r.mode])).toEqual([
      [360, 'queued', 'encode'],
      [720, 'queued', 'encode'],
      [1080, 'queued', 'copy'],
    ]);
    expect((await v.listVideoJobs('v1')).map((j) => [j.kind, j.height, j.priority])).toEqual([
      ['rendition', 360, 0],
      ['thumbnails', null, 1],
      ['rendition', 720, 2],
      ['rendition', 1080, 3],
    ]);
    await v.queueVideo('v2', probed, ladder.slice(1, 2), T0 + 12);

    // The oldest video's jobs go first, lowest priority first.
    const j1 = (await v.claimVideoJob(T0 + 20))!;
    expect(j1).toMatchObject({ videoId: 'v1', kind: 'rendition', height: 360, status: 'running', attempts: 1 });
    expect((await v.getVideo('v1'))?.status).toBe('processing');
    expect((await v.listRenditions('v1'))[0]?.status).toBe('processing');
    await v.setVideoJobProgress(j1.id, 1.7, T0 + 21);
    expect((await v.listVideoJobs('v1'))[0]?.progress).toBe(1);
    const done = await v.finishVideoJob(
      j1.id,
      { ok: true, rendition: { bandwidth: 900_000, averageBandwidth: 800_000, codecs: 'avc1.4d401e' } },
      T0 + 22,
    );
    expect(done).toMatchObject({ status: 'done', progress: 1 });
    expect(await v.finishVideoJob(j1.id, { ok: true }, T0 + 23)).toBeNull(); // not running any more
    expect((await v.listRenditions('v1'))[0]).toMatchObject({
      status: 'ready',
      bandwidth: 900_000,
      codecs: 'avc1.4d401e',
    });

    // Concurrent claims never take the same job.
    const claims = await Promise.all([v.claimVideoJob(T0 + 30), v.claimVideoJob(T0 + 30), v.claimVideoJob(T0 + 30)]);
    const ids = claims.map((j) => j?.id);
    expect(new Set(ids).size).toBe(3);
    expect(claims.map((j) => [j?.videoId, j?.kind, j?.height])).toEqual(
      expect.arrayContaining([
        ['v1', 'thumbnails', null],
        ['v1', 'rendition', 720],
        ['v1', 'rendition', 1080],
      ]),
    );
    // A crash leaves them running: they go back to the queue.
    const requeued = await v.requeueRunningVideoJobs(T0 + 40);
    expect(requeued.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect((await v.listVideoJobs('v1')).filter((j) => j.status === 'queued').length).toBe(3);

    // Fail every remaining job of v1 for good: the video fails with the error; a retry queues them again.
    for (let i = 0; i < 3; i++) {
      const j = (await v.claimVideoJob(T0 + 50))!;
      expect(j.videoId).toBe('v1');
      await v.finishVideoJob(j.id, { ok: false, error: `boom ${j.kind}`, retry: false }, T0 + 51);
    }
    expect(await v.getVideo('v1')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^boom/) });
    expect(await v.retryFailedVideoJobs('v1', T0 + 60)).toBe(3);
    expect(await v.getVideo('v1')).toMatchObject({ status: 'processing', error: null });
    expect((await v.listVideoJobs('v1')).filter((j) => j.status === 'queued').every((j) => j.attempts === 0)).toBe(
      true,
    );
    // A retryable failure goes back to the queue.
    const j = (await v.claimVideoJob(T0 + 70))!;
    expect(await v.finishVideoJob(j.id, { ok: false, error: 'flaky', retry: true }, T0 + 71)).toMatchObject({
      status: 'queued',
      error: 'flaky',
    });
  });

  test('rooms: create, list, patch state and settings, delete; members and chat', async () => {
    const r = store.rooms;
    await store.videos.createVideo({
      id: 'v1',
      appId: 'a1',
      title: 't',
      status: 'uploading',
      uploadLength: null,
      createdAt: T0,
    });
    const room = await r.createRoom({
      id: 'r1',
      appId: 'a1',
      name: 'Movie night',
      videoId: 'v1',
      ownerUserId: 7,
      locked: true,
      createdAt: T0,
    });
    expect(room).toEqual({
      id: 'r1',
      appId: 'a1',
      name: 'Movie night',
      videoId: 'v1',
      ownerUserId: 7,
      hostMemberId: null,
      hostUserId: 7,
      locked: true,
      chatEnabled: true,
      waitForBuffering: null,
      state: { position: 0, paused: true, rate: 1, at: T0, seq: 0 },
      createdAt: T0,
      updatedAt: T0,
    });
    await r.createRoom({
      id: 'r2',
      appId: 'a1',
      name: 'Second',
      videoId: 'v1',
      ownerUserId: 7,
      locked: false,
      createdAt: T0 + 1,
    });
    await r.createRoom({
      id: 'r3',
      appId: 'a2',
      name: 'Other app',
      videoId: 'v1',
      ownerUserId: 8,
      locked: false,
      createdAt: T0 + 2,
    });
    expect((await r.listRooms('a1', 10)).map((x) => x.id)).toEqual(['r2', 'r1']);
    expect((await r.listRooms('a1', 1)).map((x) => x.id)).toEqual(['r2']);

    const patched = await r.updateRoom(
      'r1',
      {
        locked: false,
        waitForBuffering: false,
        hostMemberId: 'm1',
        state: { position: 12.5, paused: false, rate: 1.25, at: T0 + 50, seq: 3 },
      },
      T0 + 60,
    );
    expect(patched).toMatchObject({
      locked: false,
      waitForBuffering: false,
      hostMemberId: 'm1',
      state: { position: 12.5, paused: false, rate: 1.25, at: T0 + 50, seq: 3 },
      updatedAt: T0 + 60,
      name: 'Movie night',
    });
    expect(await r.updateRoom('nope', { name: 'x' }, T0)).toBeNull();
    expect(await r.getRoom('r1')).toEqual(patched);

    // A joining member's host claim holds only against the host it expected: of claims made from the same
    // stored host (members joining at once on several instances), exactly one wins.
    const claim = (id: string, previous: string | null, t: number) =>
      r.claimRoomHost('r2', { hostMemberId: id, hostUserId: 7 }, previous, t);
    expect(await claim('x1', null, T0 + 70)).toBe(true);
    expect(await claim('x2', null, T0 + 71)).toBe(false);
    expect(await r.getRoom('r2')).toMatchObject({ hostMemberId: 'x1', hostUserId: 7, updatedAt: T0 + 70 });
    expect(await claim('x2', 'x1', T0 + 72)).toBe(true);
    const racing = await Promise.all(['x3', 'x4', 'x5'].map((id) => claim(id, 'x2', T0 + 73)));
    expect(racing.filter(Boolean)).toHaveLength(1);
    expect((await r.getRoom('r2'))!.hostMemberId).toBe(['x3', 'x4', 'x5'][racing.indexOf(true)]);
    expect(await claim('x6', null, T0 + 74)).toBe(false);
    expect(await r.claimRoomHost('nope', { hostMemberId: 'x1', hostUserId: 7 }, null, T0)).toBe(false);

    const member = (id: string, over: Partial<RoomMemberRecord> = {}): RoomMemberRecord => ({
      roomId: 'r1',
      appId: 'a1',
      id,
      identity: `u:${id}`,
      userId: 7,
      name: `Name ${id}`,
      kind: 'member',
      joinedAt: T0 + Number(id.slice(1)),
      lastSeenAt: T0,
      kicked: false,
      ...over,
    });
    await r.saveRoomMember(member('m2'));
    await r.saveRoomMember(member('m1', { kind: 'admin' }));
    await r.saveRoomMember(member('m2', { name: 'Renamed', kicked: true, lastSeenAt: T0 + 9 }));
    expect(await r.listRoomMembers('r1')).toEqual([
      member('m1', { kind: 'admin' }),
      member('m2', { name: 'Renamed', kicked: true, lastSeenAt: T0 + 9 }),
    ]);
    await r.deleteRoomMember('r1', 'm2');
    expect((await r.listRoomMembers('r1')).map((m) => m.id)).toEqual(['m1']);

    const sent = [];
    for (let i = 0; i < 4; i++)
      sent.push(
        await r.addChat({
          roomId: 'r1',
          appId: 'a1',
          memberId: 'm1',
          name: 'Name m1',
          text: `hi ${i}`,
          videoPosition: i * 1.5,
          at: T0 + i,
        }),
      );
    expect(sent[1]).toEqual({
      id: sent[1]!.id,
      roomId: 'r1',
      memberId: 'm1',
      name: 'Name m1',
      text: 'hi 1',
      videoPosition: 1.5,
      at: T0 + 1,
    });
    expect(await r.deleteChat('r1', sent[3]!.id)).toBe(true);
    expect(await r.deleteChat('r1', sent[3]!.id)).toBe(false);
    expect(await r.deleteChat('r2', sent[2]!.id)).toBe(false);
    expect((await r.recentChat('r1', 2)).map((c) => c.text)).toEqual(['hi 1', 'hi 2']);

    // A deleted video leaves the room without one; a deleted room takes its members and chat.
    await store.videos.deleteVideo('v1');
    expect((await r.getRoom('r1'))?.videoId).toBeNull();
    expect(await r.deleteRoom('r1')).toBe(true);
    expect(await r.getRoom('r1')).toBeNull();
    expect(await r.listRoomMembers('r1')).toEqual([]);
    expect(await r.recentChat('r1', 10)).toEqual([]);
    await store.deleteApp('a2');
    expect(await r.getRoom('r3')).toBeNull();
  });

  test('room minutes: two halves of a minute merge; rooms with figures; a deleted room keeps none', async () => {
    const r = store.rooms;
    await store.videos.createVideo({
      id: 'v1',
      appId: 'a1',
      title: 't',
      status: 'uploading',
      uploadLength: null,
      createdAt: T0,
    });
    await r.createRoom({
      id: 'r1',
      appId: 'a1',
      name: 'n',
      videoId: 'v1',
      ownerUserId: 7,
      locked: false,
      createdAt: T0,
    });
    const minute = (o: Partial<Parameters<typeof r.addRoomMinute>[0]>) => ({
      roomId: 'r1',
      appId: 'a1',
      minute: T0,
      viewers: 3,
      messages: 4,
      uniqueChatters: 2,
      topEmotes: [{ emote: ':hype:', count: 2 }],
      sentiment: 1,
      sentimentN: 2,
      ...o,
    });
    await r.addRoomMinute(minute({}));
    await r.addRoomMinute(minute({ viewers: 5, messages: 2, uniqueChatters: 1, sentiment: -2, sentimentN: 1 }));
    await r.addRoomMinute(minute({ minute: T0 + 60_000, sentiment: null, sentimentN: 0, topEmotes: [] }));
    const rows = await r.roomMinutes('r1', T0, T0 + 120_000);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual(
      minute({
        viewers: 5,
        messages: 6,
        uniqueChatters: 2,
        topEmotes: [{ emote: ':hype:', count: 4 }],
        sentiment: 0,
        sentimentN: 3,
      }),
    );
    expect(rows[1]).toMatchObject({ minute: T0 + 60_000, sentiment: null });
    expect(await r.roomsWithMinutes(T0, T0 + 60_000)).toEqual([{ roomId: 'r1', appId: 'a1' }]);
    expect(await r.roomsWithMinutes(T0 + 120_000, T0 + 180_000)).toEqual([]);
    await r.deleteRoom('r1');
    await r.addRoomMinute(minute({ minute: T0 + 120_000 }));
    expect(await r.roomMinutes('r1', T0, T0 + 180_000)).toEqual([]);
  });
});
