// The live topic "video:<id>": a video's status and transcode progress as GET /api/v1/videos/{id} shows it
// (without posterUrl, which is signed per viewer), pushed when the media part says the video changed.
// Only callers who see the video's app may subscribe; another app's video is refused like a missing one.
import type { VideoLibrary } from '../media/index.ts';
import type { LiveTopic } from '../ws/index.ts';
import { canSeeApp, type Principal } from './require-access.ts';

export function videoTopic(media: VideoLibrary): LiveTopic<Principal> {
  return {
    watch(changed) {
      media.onChange(() => changed());
    },
    async authorize(id, principal) {
      const video = id ? await media.get(id) : null;
      return video !== null && canSeeApp(principal, video.appId);
    },
    async snapshot(id) {
      const video = await media.get(id);
      if (!video) return { id, status: 'deleted' };
      const { posterUrl: _signedPerViewer, ...view } = await media.view(video, null);
      return view;
    },
  };
}
