// The WebSocket hub: the dashboard's live feed (and, later, watch-party rooms).
export {
  createLiveHub,
  type LegacyStream,
  type LiveHealth,
  type LiveHub,
  type LiveHubOptions,
  type LiveTopic,
} from './live-hub.ts';
export { attachWebSockets, type WebSocketAttachment } from './node-upgrade.ts';
