// What the live feed's topics carry in their {"type":"update","data"} messages (the protocol is src/ws/live-hub.ts);
// the dashboard reads them through these types.
import Type from 'typebox';
import { Video } from './videos.ts';

/** overview:<app> — the app's session count (the empty state, and "something changed, refetch"). */
export const OverviewUpdate = Type.Object({ app: Type.String(), sessions: Type.Integer() });
export type OverviewUpdate = Type.Static<typeof OverviewUpdate>;

/** video:<id> — the video as GET /api/v1/videos/{id} shows it without posterUrl (signed per viewer), or its end. */
export const VideoUpdate = Type.Union([
  Type.Omit(Video, ['posterUrl']),
  Type.Object({ id: Type.String(), status: Type.Literal('deleted') }),
]);
export type VideoUpdate = Type.Static<typeof VideoUpdate>;
