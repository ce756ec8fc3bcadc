// The WebSocket hub of the dashboard's live feed. PeerOutbox is the per-peer sending discipline (replies now,
// latest-state slots while backed up) for any socket to reuse; the rooms' sockets do.
export {
  createLiveHub,
  type LiveHealth,
  type LiveHub,
  type LiveHubOptions,
  type LiveTopic,
} from './live-hub.ts';
export { attachWebSockets, type WebSocketAttachment } from './node-upgrade.ts';
export type { LegacyStream } from './legacy-stream.ts';
export { type OutboxSocket, PeerOutbox, type PeerOutboxOptions } from './peer-outbox.ts';
