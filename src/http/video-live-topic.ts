// The live topic "video:<id>": a video's status and transcode progress as GET /api/v1/videos/{id} shows it
// (without posterUrl, which is signed per viewer), pushed when the media part says the video changed.
// Only callers who see the video's app may subscribe; another app's video is refused like a missing one.
// A followed video that is deleted (by its owner, or refused once uploaded because it is no video) stays
// followable by those who saw its app, so they receive {"status":"deleted"} — the hub re-authorises every
// subscription each interval, and refusing a deleted video there closed the whole connection (4403) before the
// "deleted" update went out, leaving the page's other videos without live updates.
import type { VideoLibrary } from '../media/index.ts';
import type { LiveTopic } from '../ws/index.ts';
import { canSeeApp, type Principal } from './require-access.ts';
import type { VideoUpdate } from '../wire/live-topics.ts';

/** How many video ids' apps are remembered for the "deleted" update (oldest forgotten first). */
const REMEMBERED = 10_000;

export function videoTopic(media: VideoLibrary): LiveTopic<Principal> {
  const appOf = new Map<string, string>();
  const remember = (id: string, appId: string) => {
    appOf.delete(id);
    appOf.set(id, appId);
    if (appOf.size > REMEMBERED) appOf.delete(appOf.keys().next().value as string);
  };
  return {
    watch(changed) {
      media.onChange(() => changed());
    },
    async authorize(id, principal) {
      const video = id ? await media.get(id) : null;
      if (video) remember(id, video.appId);
      const appId = video?.appId ?? appOf.get(id);
      return appId !== undefined && canSeeApp(principal, appId);
    },
    async snapshot(id): Promise<VideoUpdate> {
      const video = await media.get(id);
      if (!video) return { id, status: 'deleted' };
      const { posterUrl: _signedPerViewer, ...view } = await media.view(video, null);
      return view;
    },
  };
}
