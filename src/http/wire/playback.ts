// Wire format of a playback grant (POST /api/v1/videos/{id}/playback and /api/v1/rooms/{id}/playback): the signed
// master playlist URL and the short-lived credential the player reports its QoE session with.
import Type from 'typebox';
import { epochMs } from './fields.ts';

export const PlaybackGrant = Type.Object(
  {
    url: Type.String({ description: 'signed master playlist URL' }),
    expiresAt: epochMs('When the URL and every URL in its playlists stop working'),
    qoe: Type.Object({
      endpoint: Type.Literal('/v1/sessions'),
      token: Type.String({ description: 'send as Authorization: Bearer to POST /v1/sessions' }),
      expiresAt: epochMs('When the credential stops working'),
    }),
  },
  { $id: 'PlaybackGrant' },
);
export type PlaybackGrant = Type.Static<typeof PlaybackGrant>;
