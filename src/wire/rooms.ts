// Wire formats of watch-party rooms: the room as the API shows it, the bodies that create and change it, and
// invites. (The WebSocket protocol's messages are checked by src/rooms/room-protocol.ts.)
import Type from 'typebox';
import { PlaybackGrant } from './playback.ts';

export const ROOM_NAME_MAX = 100;
const name = Type.String({
  minLength: 1,
  maxLength: ROOM_NAME_MAX,
  'x-expected': `1 to ${ROOM_NAME_MAX} characters`,
});
const videoId = Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$', 'x-expected': 'the id of a video' });
const flag = (what: string) => Type.Boolean({ 'x-expected': `true or false (${what})` });

export const NewRoomBody = Type.Object(
  { name, videoId, locked: Type.Optional(flag('only the host controls playback')) },
  { $id: 'NewRoomBody' },
);
export type NewRoomBody = Type.Static<typeof NewRoomBody>;

export const RoomUpdateBody = Type.Object(
  { name: Type.Optional(name), videoId: Type.Optional(videoId), locked: Type.Optional(flag('locked')) },
  { $id: 'RoomUpdateBody' },
);
export type RoomUpdateBody = Type.Static<typeof RoomUpdateBody>;

export const GUEST_TTL_MAX_SEC = 7 * 24 * 3600;
export const RoomInviteBody = Type.Object(
  {
    displayName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, 'x-expected': '1 to 64 characters', default: 'Guest' }),
    ),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: GUEST_TTL_MAX_SEC,
        default: 43_200,
        'x-expected': `whole seconds from 60 to ${GUEST_TTL_MAX_SEC} (7 days)`,
      }),
    ),
  },
  { $id: 'RoomInviteBody' },
);
export type RoomInviteBody = Type.Static<typeof RoomInviteBody>;

export const Room = Type.Object(
  {
    id: Type.String(),
    appId: Type.String(),
    name: Type.String(),
    videoId: Type.Union([Type.String(), Type.Null()], { description: 'null once its video was deleted' }),
    hostUserId: Type.Union([Type.Integer(), Type.Null()], { description: 'null while a guest or nobody is host' }),
    locked: Type.Boolean(),
    chatEnabled: Type.Boolean(),
    inviteUrl: Type.String({ description: 'the room page, for people who can sign in; guests need an invite' }),
    state: Type.Object({
      position: Type.Number({ description: 'seconds into the video at `at`' }),
      paused: Type.Boolean(),
      rate: Type.Number(),
      at: Type.Integer({ description: 'server epoch ms' }),
      seq: Type.Integer(),
      predictedPosition: Type.Number({ description: 'where the video is now' }),
    }),
    membersConnected: Type.Integer(),
    createdAt: Type.Integer({ description: 'epoch ms' }),
  },
  { $id: 'Room' },
);
export type Room = Type.Static<typeof Room>;

export const RoomList = Type.Object({ rooms: Type.Array(Room) }, { $id: 'RoomList' });
export type RoomList = Type.Static<typeof RoomList>;

/** GET /api/v1/rooms's query. */
export const RoomListParams = Type.Object({
  app: Type.Optional(Type.String({ description: 'App id; may be omitted when the caller sees exactly one app' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 100 })),
});

export const RoomInvite = Type.Object(
  {
    token: Type.String({ description: 'guest token for room:<id>: ?token= on /ws/rooms/{id}' }),
    expiresAt: Type.Integer(),
    displayName: Type.String(),
    joinUrl: Type.String({ description: '/rooms/{id}#<token>' }),
  },
  { $id: 'RoomInvite' },
);
export type RoomInvite = Type.Static<typeof RoomInvite>;

/** POST /api/v1/rooms/{id}/playback: the video grant, for the room's current video. */
export const RoomPlaybackGrant = Type.Intersect(
  [
    PlaybackGrant,
    Type.Object({
      videoId: Type.String(),
      durationMs: Type.Union([Type.Integer(), Type.Null()], { description: 'null until the video is probed' }),
    }),
  ],
  { $id: 'RoomPlaybackGrant' },
);
export type RoomPlaybackGrant = Type.Static<typeof RoomPlaybackGrant>;
