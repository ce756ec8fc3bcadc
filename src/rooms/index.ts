// Watch-party rooms: the sync protocol's rules (room-session), its wire format (room-protocol) and the
// WebSocket endpoint that hosts them (room-hub).
export { createRoomHub, type Identified, ROOM_ID, type RoomHub, type RoomHubOptions } from './room-hub.ts';
export {
  cleanDisplayName,
  commandLeadMs,
  parseClientMessage,
  positionAt,
  PROTOCOL_LIMITS,
  ProtocolError,
  type ClientMessage,
} from './room-protocol.ts';
export {
  type JoiningMember,
  type MemberPresence,
  type MinuteFigures,
  ROOM_TIMING,
  RoomSession,
} from './room-session.ts';
export { emotesIn, MinuteTally, type SentimentScorer, TOP_EMOTES } from './chat-stats.ts';
export { afinnScorer } from './sentiment.ts';
