// Watch-party rooms: POST/GET /api/v1/rooms, GET/PUT/DELETE /api/v1/rooms/{id}, invites (guest tokens for
// room:<id>), the room's playback grant (members and invited guests), and the sync WebSocket /ws/rooms/{id}
// (its protocol is in src/rooms and the README). Users with access to the room's app manage it; another app's
// room answers 404.
import { createHash, randomBytes } from 'node:crypto';
import { defineWebSocketHandler, getRouterParam, type H3Event } from 'h3';
import { guestTokenId, issueGuestToken } from '../../auth/index.ts';
import { positionAt, ROOM_ID, type Identified } from '../../rooms/index.ts';
import type { RoomRecord, VideoRecord } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import { queryParametersOf, queryReader } from '../read-validated-query.ts';
import {
  NewRoomBody,
  Room,
  RoomInvite,
  RoomInviteBody,
  RoomList,
  RoomListParams,
  RoomPlaybackGrant,
  RoomUpdateBody,
} from '../../wire/rooms.ts';
import {
  callerPrincipal,
  canSeeApp,
  principalFromUpgrade,
  refreshUserPrincipal,
  resolveApp,
  sameOrigin,
  type Principal,
} from '../require-access.ts';
import {
  ACCESS_COOKIE,
  actorOf,
  authenticateUser,
  refuseUnusableGuestToken,
  requireUser,
  type Caller,
} from '../require-user.ts';
import { userBearer } from './openapi-shared.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';
import { assetResponse, loadWebAssets, type WebAssets } from '../static-assets.ts';
import { signerFor } from '../sign-media.ts';
import { PathParams, pathParameters } from './route-params.ts';

const readListQuery = queryReader(RoomListParams);
const readNewRoom = bodyReader(NewRoomBody);
const readRoomUpdate = bodyReader(RoomUpdateBody);
const readInvite = bodyReader(RoomInviteBody);

const [idParam] = pathParameters({ id: PathParams.roomId });

const baseUrl = (event: H3Event, ctx: HttpContext) => (ctx.config.publicUrl ?? event.url.origin).replace(/\/$/, '');

function view(event: H3Event, ctx: HttpContext, r: RoomRecord) {
  const live = ctx.rooms.live(r.id);
  const room = live?.record ?? r;
  const now = Date.now();
  return {
    id: room.id,
    appId: room.appId,
    name: room.name,
    videoId: room.videoId,
    hostUserId: room.hostUserId,
    locked: room.locked,
    chatEnabled: room.chatEnabled,
    inviteUrl: `${baseUrl(event, ctx)}/rooms/${room.id}`,
    state: { ...room.state, predictedPosition: positionAt(room.state, now) },
    membersConnected: live?.connectedCount ?? 0,
    createdAt: room.createdAt,
  };
}

/** The room named by the path, when the caller's apps include its app; 404 otherwise. */
async function visibleRoom(event: H3Event, ctx: HttpContext, principal: Principal): Promise<RoomRecord> {
  const id = getRouterParam(event, 'id') ?? '';
  const room = ROOM_ID.test(id) ? await ctx.store.rooms.getRoom(id) : null;
  if (!room || !canSeeApp(principal, room.appId))
    throw new ApiError('NOT_FOUND', `no room ${JSON.stringify(id.slice(0, 64))}`);
  return room;
}

/** A video the caller may use in a room of `appId` (any of theirs when appId is omitted). */
async function usableVideo(
  ctx: HttpContext,
  principal: Principal,
  videoId: string,
  appId?: string,
): Promise<VideoRecord> {
  const video = await ctx.media.get(videoId);
  if (!video || !canSeeApp(principal, video.appId) || (appId !== undefined && video.appId !== appId))
    throw new ApiError('NOT_FOUND', `videoId: no video ${JSON.stringify(videoId)}${appId ? ' in this app' : ''}`);
  return video;
}

const caller = async (event: H3Event, ctx: HttpContext): Promise<[Caller, Principal]> => {
  const c = await requireUser(event, ctx);
  return [c, callerPrincipal(c)];
};

const create: RouteDef = {
  method: 'POST',
  path: '/api/v1/rooms',
  async handler(event, ctx) {
    const [user, principal] = await caller(event, ctx);
    const body = await readNewRoom(event);
    const video = await usableVideo(ctx, principal, body.videoId);
    const room = await ctx.store.rooms.createRoom({
      id: randomBytes(9).toString('base64url'),
      appId: video.appId,
      name: body.name.trim() || body.name,
      videoId: video.id,
      ownerUserId: user.user.id,
      locked: body.locked ?? false,
      createdAt: Date.now(),
    });
    event.res.status = 201;
    return view(event, ctx, room);
  },
  openapi: {
    summary: "Create a watch-party room for a video (members and admins of the video's app); the creator is host",
    security: userBearer,
    requestBody: { required: true, content: json(NewRoomBody) },
    responses: {
      '201': { description: 'Created', content: json(Room) },
      ...errorResponses(400, 401, 403, 404, 415, 503),
    },
  },
};

const list: RouteDef = {
  method: 'GET',
  path: '/api/v1/rooms',
  async handler(event, ctx) {
    const [, principal] = await caller(event, ctx);
    const { app, limit = 100 } = readListQuery(event); // the schema's default: the reader fills it in
    const appId = await resolveApp(ctx, principal, app);
    const rooms = await ctx.store.rooms.listRooms(appId, limit);
    return { rooms: rooms.map((r) => view(event, ctx, r)) } satisfies RoomList;
  },
  openapi: {
    summary: "An app's rooms, newest first",
    security: userBearer,
    parameters: queryParametersOf(RoomListParams),
    responses: {
      '200': {
        description: 'Rooms',
        content: json(RoomList),
      },
      ...errorResponses(400, 401, 403, 404, 503),
    },
  },
};

const get: RouteDef = {
  method: 'GET',
  path: '/api/v1/rooms/:id',
  async handler(event, ctx) {
    const [, principal] = await caller(event, ctx);
    return view(event, ctx, await visibleRoom(event, ctx, principal));
  },
  openapi: {
    summary: 'A room: settings, playback state (with the predicted position) and how many are connected',
    security: userBearer,
    parameters: [idParam],
    responses: { '200': { description: 'The room', content: json(Room) }, ...errorResponses(401, 403, 404, 503) },
  },
};

const update: RouteDef = {
  method: 'PUT',
  path: '/api/v1/rooms/:id',
  async handler(event, ctx) {
    const [, principal] = await caller(event, ctx);
    const before = await visibleRoom(event, ctx, principal);
    const body = await readRoomUpdate(event);
    if (body.videoId !== undefined) await usableVideo(ctx, principal, body.videoId, before.appId);
    const now = Date.now();
    const changesVideo = body.videoId !== undefined && body.videoId !== before.videoId;
    const after = await ctx.store.rooms.updateRoom(
      before.id,
      {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.locked !== undefined ? { locked: body.locked } : {}),
        ...(changesVideo
          ? { videoId: body.videoId, state: { position: 0, paused: true, rate: 1, at: now, seq: before.state.seq + 1 } }
          : {}),
      },
      now,
    );
    if (!after) throw new ApiError('NOT_FOUND', `no room ${JSON.stringify(before.id)}`);
    const live = ctx.rooms.live(before.id);
    await ctx.rooms.roomUpdated(live?.record ?? before, after);
    return view(event, ctx, after);
  },
  openapi: {
    summary: 'Change a room: name, video (everyone stops at its start), locked; connected members are told',
    security: userBearer,
    parameters: [idParam],
    requestBody: { required: true, content: json(RoomUpdateBody) },
    responses: {
      '200': { description: 'Changed', content: json(Room) },
      ...errorResponses(400, 401, 403, 404, 415, 503),
    },
  },
};

const remove: RouteDef = {
  method: 'DELETE',
  path: '/api/v1/rooms/:id',
  async handler(event, ctx) {
    const [, principal] = await caller(event, ctx);
    const room = await visibleRoom(event, ctx, principal);
    await ctx.store.rooms.deleteRoom(room.id);
    ctx.rooms.roomDeleted(room.id);
    event.res.status = 204;
    return null;
  },
  openapi: {
    summary: 'Delete a room with its members and chat; connected members get bye and are disconnected (4404)',
    security: userBearer,
    parameters: [idParam],
    responses: { '204': { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
  },
};

const invite: RouteDef = {
  method: 'POST',
  path: '/api/v1/rooms/:id/invites',
  async handler(event, ctx) {
    const [user, principal] = await caller(event, ctx);
    const room = await visibleRoom(event, ctx, principal);
    const body = await readInvite(event, { optional: true });
    const issued = await issueGuestToken(ctx.accounts.signer, {
      resource: `room:${room.id}`,
      ttlSeconds: body.ttlSeconds,
      displayName: body.displayName,
    });
    await ctx.accounts.audit('guest_token_issued', actorOf(event, ctx, user), issued.resource, {
      displayName: issued.displayName,
      expiresAt: issued.expiresAt,
    });
    event.res.status = 201;
    return {
      token: issued.token,
      expiresAt: issued.expiresAt,
      displayName: issued.displayName,
      joinUrl: `${baseUrl(event, ctx)}/rooms/${room.id}#${issued.token}`,
    } satisfies RoomInvite;
  },
  openapi: {
    summary: 'Invite a guest: a guest token for room:<id> and the join URL /rooms/{id}#<token>',
    description:
      'The guest joins without an account, under displayName, until the token expires (ttlSeconds, 12 h by default, 7 days at most). Kicking a guest bars that token from the room.',
    security: userBearer,
    parameters: [idParam],
    requestBody: { required: false, content: json(RoomInviteBody) },
    responses: {
      '201': { description: 'Invited', content: json(RoomInvite) },
      ...errorResponses(400, 401, 403, 404, 415, 503),
    },
  },
};

/** The bearer (or ?token=) a guest presents. */
function presentedToken(event: H3Event): string | null {
  const auth = event.req.headers.get('authorization');
  const m = auth ? /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/.exec(auth.trim()) : null;
  return m?.[1] ?? event.url.searchParams.get('token');
}

const guestIdentity = (token: string) => `g:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`;

const playback: RouteDef = {
  method: 'POST',
  path: '/api/v1/rooms/:id/playback',
  async handler(event, ctx) {
    const id = getRouterParam(event, 'id') ?? '';
    const notFound = () => new ApiError('NOT_FOUND', `no room ${JSON.stringify(id.slice(0, 64))}`);
    const token = presentedToken(event);
    const guest = token && ROOM_ID.test(id) ? await ctx.accounts.guest(token, 'view', `room:${id}`) : null;
    let room: RoomRecord | null;
    let viewer: string;
    let expiresAt = Date.now() + ctx.config.playbackUrlTtlSeconds * 1000;
    if (guest) {
      room = await ctx.store.rooms.getRoom(id);
      if (!room) throw notFound();
      viewer = guestIdentity(token!).replace(':', '.');
      expiresAt = Math.min(expiresAt, guest.expiresAt);
    } else {
      // A guest token that may not be used here is refused naming why (a signed-in user goes on as a user).
      const refuse = () => refuseUnusableGuestToken(ctx, token, `room:${id}`);
      const user = await authenticateUser(event, ctx).catch(async (err: unknown) => {
        await refuse();
        throw err;
      });
      if (!user) {
        await refuse();
        throw new ApiError('UNAUTHORIZED', 'sign in, or send an invite token for this room as Authorization: Bearer');
      }
      room = await visibleRoom(event, ctx, callerPrincipal(user));
      viewer = `u.${user.sessionId}`;
    }
    const video = room.videoId ? await ctx.media.get(room.videoId) : null;
    if (!video) throw new ApiError('NOT_READY', `room ${room.id} has no video`);
    const sign = signerFor(ctx, viewer, expiresAt);
    const master = await ctx.media.masterPlaylist(video, sign);
    if (master === null)
      throw new ApiError('NOT_READY', `video ${video.id} has no playable rendition yet (status ${video.status})`);
    return {
      url: `${event.url.origin}${sign(`/media/${video.id}/master.m3u8`)}`,
      expiresAt,
      videoId: video.id,
      durationMs: video.durationMs,
      qoe: {
        endpoint: '/v1/sessions',
        token: ctx.media.signer.issueCredential({ appId: video.appId, videoId: video.id, expiresAt }),
        expiresAt,
      },
    } satisfies RoomPlaybackGrant;
  },
  openapi: {
    summary: "Play a room's video: a signed master playlist URL and a QoE credential (members and invited guests)",
    description:
      "Signed-in users of the room's app, or the holder of the room's guest token (Authorization: Bearer, or ?token=). Same grant as POST /api/v1/videos/{id}/playback, for the room's current video.",
    security: [{ bearer: [] }, { cookie: [] }],
    parameters: [idParam],
    responses: {
      '200': { description: 'Granted', content: json(RoomPlaybackGrant) },
      ...errorResponses(401, 403, 404, 409, 503),
    },
  },
};

/** Who opens /ws/rooms/{id}: an invited guest (?token=), or a user of the room's app (ticket or cookie). */
export async function identifyRoomMember(ctx: HttpContext, request: Request, room: RoomRecord): Promise<Identified> {
  const url = new URL(request.url);
  const token = url.searchParams.get('token');
  if (token !== null) {
    const guest = token.length <= 4096 ? await ctx.accounts.guest(token, 'join', `room:${room.id}`) : null;
    if (!guest) return { refused: 4401, reason: 'the invite is invalid, expired or for another room' };
    const tokenId = guestTokenId(token);
    return {
      identity: guestIdentity(token),
      userId: null,
      name: guest.name,
      kind: 'guest',
      expiresAt: guest.expiresAt,
      // While connected: a revoked invite closes the socket.
      async recheck() {
        return (await ctx.accounts.guestTokenRevoked(tokenId))
          ? { refused: 4401, reason: 'your invite was revoked' }
          : { kind: 'guest' as const };
      },
    };
  }
  const usesCookie =
    !url.searchParams.has('ticket') && (request.headers.get('cookie') ?? '').includes(`${ACCESS_COOKIE}=`);
  // The same rule as the live feed's (this server's Host, or the configured publicUrl behind a proxy).
  if (usesCookie && !sameOrigin(ctx, request)) return { refused: 4403, reason: 'cross-site connection refused' };
  const principal = await principalFromUpgrade(ctx, request);
  if (principal?.kind !== 'user')
    return { refused: 4401, reason: 'sign in, use a ticket from POST /api/v1/ws-ticket, or an invite token' };
  if (!canSeeApp(principal, room.appId)) return { refused: 4404, reason: `no room ${room.id}` };
  return {
    identity: `u:${principal.userId}`,
    userId: principal.userId,
    name: principal.email.split('@')[0]!.slice(0, 64),
    kind: principal.role === 'admin' ? 'admin' : 'member',
    // While connected: a revoked grant, a disabled user or an ended login closes the socket (as on /ws/live).
    async recheck() {
      const now = await refreshUserPrincipal(ctx, principal);
      if (!now) return { refused: 4401, reason: 'signed out, or the account was disabled' };
      if (!canSeeApp(now, room.appId)) return { refused: 4404, reason: `no room ${room.id}` };
      return { kind: now.kind === 'user' && now.role === 'admin' ? 'admin' : 'member' };
    },
  };
}

const socket: RouteDef = {
  method: 'GET',
  path: '/ws/rooms/:id',
  handler: (event, ctx) => defineWebSocketHandler(ctx.rooms.hooks)(event),
  openapi: {
    summary: 'Watch-party sync (WebSocket): timed play/pause/seek, clock sync, presence, chat, moderation',
    description:
      'Authenticated by the session cookie (same origin only), a ticket (?ticket= from POST /api/v1/ws-ticket) or an invite (?token=<guest token for room:<id>>). JSON text frames of at most 4 KiB; every server message has type and serverTime (epoch ms). Client: hello {clientTime}, ping {clientTime}, pong {serverTime}, play|pause|seek {position}, rate {rate}, state {position, paused, buffering, bufferedAheadMs, droppedFrames}, chat {text}, kick|host {memberId}, lock {locked}, chat-delete {messageId}, chat-enabled {enabled}, wait-for-buffering {enabled}. Server: welcome {memberId, role, room, members, chat, state, heartbeatMs}, command {action, position, paused, rate, at, by, seq} (apply at server time `at`), members {members, hostMemberId}, room {room}, chat {id, memberId, name, text, videoPosition, at}, chat-deleted {messageId}, stats {current, previous} (host and admins: the room chat figures per minute), ping {serverTime} (answer pong), pong {clientTime}, error {code, message}, bye {reason}. Close codes: 4401 not authenticated (or the invite expired or was revoked, the account was disabled or the login ended while connected), 4403 removed or cross-site, 4404 no such room (or deleted, or access to its app revoked), 4408 heartbeats ignored, 4409 replaced by a newer connection, 4429 flooding or room full, 1009 frame over 16 KiB, 1012 server restarting (reconnect). See the README for the timing rules.',
    parameters: [idParam],
    responses: {
      '101': { description: 'Switching Protocols: the room; refusals are close codes (see above)' },
      '426': { description: 'Not a WebSocket upgrade request' },
    },
  },
};

let webAssets: WebAssets | undefined;

/** The room page: the dashboard's index.html (its script draws the room), with the player's policy (blob: media). */
const page: RouteDef = {
  method: 'GET',
  path: '/rooms/:id',
  handler(event) {
    if (!webAssets?.files) webAssets = loadWebAssets();
    const html = webAssets.files?.get('/index.html');
    if (!html)
      throw new ApiError(
        'NOT_FOUND',
        `the web pages are not built (looked in ${webAssets.source}); run npm run bundle`,
      );
    return assetResponse(html, event.req);
  },
  openapi: { notInApi: 'the watch-party room page (guests and signed-in users)' },
};

export const roomRoutes: RouteDef[] = [create, list, get, update, remove, invite, playback, socket, page];
