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

/** POST …/playback's query: a guest token, for players that cannot send Authorization. */
export const PlaybackGrantParams = Type.Object({
  token: Type.Optional(Type.String({ description: 'guest token for video:<id>, when Authorization cannot be sent' })),
});

/** What every signed media URL carries (the media part's URL signer checks it); a missing or bad one is a 403. */
export const SignedMediaParams = Type.Object({
  e: Type.String({ pattern: '^\\d{1,15}$', description: 'when the URL expires, epoch ms' }),
  v: Type.String({ pattern: '^[A-Za-z0-9._-]{1,80}$', description: 'the viewer the URL is signed for' }),
  s: Type.String({ maxLength: 64, description: 'the signature' }),
});
