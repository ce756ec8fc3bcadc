// The dashboard's live feed: /ws/live (topics), /ws/live/{streamId} (the older Telemetra API) and the feed's
// health. The WebSocket protocol itself is described in src/ws/live-hub.ts.
import { defineWebSocketHandler } from 'h3';
import type { RouteDef } from '../context.ts';
import { LiveFeedHealth } from '../../wire/server.ts';
import { jsonContent } from './openapi-shared.ts';
import { PathParams, pathParameters } from './route-params.ts';

const upgradeResponses = {
  '101': {
    description:
      'Switching Protocols: the live feed; refused connections are closed with 4401 (not signed in) or 4403 (topic not allowed)',
  },
  '426': { description: 'Not a WebSocket upgrade request' },
};

const liveFeed: RouteDef = {
  method: 'GET',
  path: '/ws/live',
  handler: (event, ctx) => defineWebSocketHandler(ctx.live.hooks)(event),
  openapi: {
    summary: 'Live feed (WebSocket): subscribe to overview:<app>, active, stream:<channel>, moments',
    description:
      'Authenticated by the session cookie, a ticket (?ticket= from POST /api/v1/ws-ticket) or X-API-Key with read scope. Client messages: {"type":"subscribe"|"unsubscribe","topic"}, {"type":"ping"}. Server messages: welcome, subscribed, update {topic,data,at} (every liveIntervalMs, only on change), moment, ping/pong, error.',
    responses: upgradeResponses,
  },
};

const legacyFeed: RouteDef = {
  method: 'GET',
  path: '/ws/live/:streamId',
  handler: (event, ctx) => defineWebSocketHandler(ctx.live.legacyHooks)(event),
  openapi: {
    summary: 'Live metrics of one channel (WebSocket, the older Telemetra API)',
    description: 'A welcome message, then {"type":"metrics","streamId",…,"moments":[…]} every liveIntervalMs.',
    parameters: pathParameters({ streamId: PathParams.streamId }),
    responses: upgradeResponses,
  },
};

const liveHealth: RouteDef = {
  method: 'GET',
  path: '/ws/live/health',
  handler: (_event, ctx): LiveFeedHealth => ctx.live.health(),
  openapi: {
    summary: 'Live feed connections: open connections and subscribers per topic kind',
    responses: {
      '200': {
        description: 'Counts',
        content: jsonContent(LiveFeedHealth),
      },
    },
  },
};

export const liveFeedRoutes: RouteDef[] = [liveHealth, liveFeed, legacyFeed];
