// The WebSocket hub: the dashboard's live feed (and, later, watch-party rooms). PeerOutbox is the per-peer
// sending discipline (replies now, latest-state slots while backed up) for any socket to reuse.
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
