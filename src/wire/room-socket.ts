// The messages the server sends on a room's WebSocket (/ws/rooms/{id}): what the room page reads. The rooms
// part builds them (src/rooms/room-session.ts) and checks what clients send (room-protocol.ts); every message a
// test client receives is checked against these schemas (test/rooms/room-client.ts), so the two stay in step.
// Every message but `ping` also carries serverTime, the server clock when it was sent.
import Type from 'typebox';

const serverTime = Type.Integer({ description: 'server epoch ms when the message was sent' });
const orNull = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const RoomRole = Type.Union([
  Type.Literal('host'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('guest'),
]);
export type RoomRole = Type.Static<typeof RoomRole>;

/** The room as its members see it. */
export const RoomView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  videoId: orNull(Type.String()),
  locked: Type.Boolean(),
  chatEnabled: Type.Boolean(),
  waitForBuffering: Type.Boolean(),
  hostMemberId: orNull(Type.String()),
});
export type RoomView = Type.Static<typeof RoomView>;

/** One member and how their playback is going. */
export const MemberPresence = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoomRole,
  connected: Type.Boolean(),
  rttMs: orNull(Type.Integer()),
  driftMs: orNull(Type.Integer()),
  buffering: Type.Boolean(),
  bufferedAheadMs: Type.Integer(),
  droppedFrames: Type.Integer(),
  joinedAt: Type.Integer(),
});
export type MemberPresence = Type.Static<typeof MemberPresence>;

/** The shared timeline: `position` seconds into the video at server time `at`. */
const timeline = {
  position: Type.Number(),
  paused: Type.Boolean(),
  rate: Type.Number(),
  at: Type.Integer(),
  seq: Type.Integer(),
};

const chatFields = {
  type: Type.Literal('chat'),
  id: Type.Integer(),
  memberId: Type.String(),
  name: Type.String(),
  text: Type.String(),
  videoPosition: Type.Number({ description: 'where the video was when it was written, seconds' }),
  at: Type.Integer(),
};
/** A chat message as the welcome lists them (a live one also carries serverTime). */
export const ChatMessage = Type.Object(chatFields);
export type ChatMessage = Type.Static<typeof ChatMessage>;

/** One minute of the room's chat figures. */
export const MinuteFigures = Type.Object({
  t: Type.Integer(),
  viewers: Type.Integer(),
  messages: Type.Integer(),
  uniqueChatters: Type.Integer(),
  topEmotes: Type.Array(Type.Object({ emote: Type.String(), count: Type.Integer() })),
  sentiment: orNull(Type.Number()),
});
export type MinuteFigures = Type.Static<typeof MinuteFigures>;

export const RoomWelcome = Type.Object({
  type: Type.Literal('welcome'),
  memberId: Type.String(),
  role: RoomRole,
  room: RoomView,
  members: Type.Array(MemberPresence),
  chat: Type.Array(ChatMessage),
  state: Type.Object({ ...timeline, predictedPosition: Type.Number(), serverTime }),
  heartbeatMs: Type.Integer(),
  limits: Type.Object({
    maxMessageBytes: Type.Integer(),
    chatMaxChars: Type.Integer(),
    maxControlPerSecond: Type.Number(),
  }),
  serverTime,
});

export const RoomCommand = Type.Object({
  type: Type.Literal('command'),
  action: Type.Union([Type.Literal('play'), Type.Literal('pause'), Type.Literal('seek'), Type.Literal('rate')]),
  ...timeline,
  by: Type.String({ description: 'the member id, or "server"' }),
  serverTime,
});
export type RoomCommand = Type.Static<typeof RoomCommand>;

export const RoomStats = Type.Object({
  type: Type.Literal('stats'),
  current: MinuteFigures,
  previous: orNull(MinuteFigures),
  serverTime,
});
export type RoomStats = Type.Static<typeof RoomStats>;

/** Every message the server sends on /ws/rooms/{id}, told apart by `type`. */
export const RoomServerMessage = Type.Union([
  RoomWelcome,
  RoomCommand,
  Type.Object({ type: Type.Literal('room'), room: RoomView, serverTime }),
  Type.Object({
    type: Type.Literal('members'),
    members: Type.Array(MemberPresence),
    hostMemberId: orNull(Type.String()),
    serverTime,
  }),
  Type.Object({ ...chatFields, serverTime }),
  Type.Object({ type: Type.Literal('chat-deleted'), messageId: Type.Integer(), by: Type.String(), serverTime }),
  RoomStats,
  Type.Object({ type: Type.Literal('ping'), serverTime }),
  Type.Object({ type: Type.Literal('pong'), clientTime: Type.Number(), serverTime }),
  Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String(), serverTime }),
  Type.Object({ type: Type.Literal('bye'), reason: Type.String(), serverTime }),
]);
export type RoomServerMessage = Type.Static<typeof RoomServerMessage>;
