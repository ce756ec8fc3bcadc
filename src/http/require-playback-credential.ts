// The built-in player's QoE credential on POST /v1/sessions: `Authorization: Bearer <token>` from
// POST /api/v1/videos/{id}/playback instead of an ingest key. It ingests into the video's app only, and only
// sessions whose contentId is that video (403 naming why otherwise), and only while the video exists: a deleted
// video's credential stops like its playback URLs do. Rate limited like a key, per video and address.
import type { IngestedSession } from '../ingest/index.ts';
import { clientAddress } from './client-address.ts';
import type { HttpContext } from './context.ts';
import type { HttpExchange } from './exchange.ts';
import { ApiError } from './errors.ts';

export interface PlaybackIngest {
  appId: string;
  videoId: string;
}

/** True when the request carries a playback credential rather than an API key. */
export function hasPlaybackCredential(event: HttpExchange): boolean {
  return !event.req.headers.has('x-api-key') && /^Bearer m3wp\./.test(event.req.headers.get('authorization') ?? '');
}

export async function requirePlaybackCredential(event: HttpExchange, ctx: HttpContext): Promise<PlaybackIngest> {
  const token = (event.req.headers.get('authorization') ?? '').replace(/^Bearer\s+/, '').trim();
  const address = clientAddress(event, ctx.config.trustProxy);
  const credential = ctx.media.signer.verifyCredential(token);
  const bucket = credential ? `play:${credential.videoId}:${address}` : `addr:${address}`;
  const d = ctx.limiter.take(bucket, ctx.config.rateLimit.requests);
  if (!d.allowed)
    throw new ApiError('RATE_LIMIT_EXCEEDED', `rate limit exceeded; retry in ${d.retryAfterSec} s`, undefined, {
      'retry-after': String(d.retryAfterSec),
    });
  if (!credential)
    throw new ApiError(
      'INVALID_API_KEY',
      'the playback credential is invalid or expired; ask for a new playback grant',
    );
  const video = await ctx.media.get(credential.videoId);
  if (!video || video.appId !== credential.appId)
    throw new ApiError('FORBIDDEN', 'the video of this playback credential no longer exists');
  return { appId: credential.appId, videoId: credential.videoId };
}

/** Throws 403 unless every session is about the credential's video. */
export function checkPlaybackSessions(grant: PlaybackIngest, sessions: readonly IngestedSession[]): void {
  for (const s of sessions)
    if ((s.summary as { contentId?: unknown }).contentId !== grant.videoId)
      throw new ApiError(
        'FORBIDDEN',
        `a playback credential only reports sessions of its video: contentId must be ${JSON.stringify(grant.videoId)}`,
      );
}
