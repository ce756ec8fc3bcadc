// Where the video library keeps its files under the data directory, all private to m3w's user (directories
// 0700, files 0600). Only ids m3w generated become path parts; a client's filename never does.
import { chmod, mkdir, readdir, rm, statfs } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { MediaError } from './media-error.ts';

export const VIDEO_ID = /^[A-Za-z0-9_-]{8,64}$/;

export class MediaPaths {
  readonly root: string;
  readonly uploads: string;
  readonly videos: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'media');
    this.uploads = path.join(this.root, 'uploads');
    this.videos = path.join(this.root, 'videos');
  }

  async ensure(): Promise<void> {
    for (const dir of [this.root, this.uploads, this.videos]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    }
  }

  private checked(id: string): string {
    if (!VIDEO_ID.test(id)) throw new MediaError('NOT_FOUND', 'no such video');
    return id;
  }

  videoDir(id: string): string {
    return path.join(this.videos, this.checked(id));
  }
  source(id: string): string {
    return path.join(this.videoDir(id), 'source');
  }
  /** A finished rendition's folder: published by renaming its .partial folder into place. */
  renditionDir(id: string, height: number): string {
    return path.join(this.videoDir(id), `${height}p`);
  }
  /**
   * A fresh folder for one attempt at `name`. Unique per attempt: an ffmpeg orphaned by a `kill -9` of m3w may
   * still be writing into the old one, and must not mix its files into the retry's.
   */
  partialDir(id: string, name: string): string {
    return path.join(this.videoDir(id), `${name}.${randomBytes(6).toString('hex')}.partial`);
  }
  thumbnailsDir(id: string): string {
    return path.join(this.videoDir(id), 'thumbs');
  }
  /** A multipart upload being received. */
  incoming(id: string): string {
    return path.join(this.uploads, `${this.checked(id)}.part`);
  }
  /** A tus upload's data file (the tus store names it by the upload id, which is the video id). */
  tusFile(id: string): string {
    return path.join(this.uploads, this.checked(id));
  }

  async makeVideoDir(id: string): Promise<string> {
    const dir = this.videoDir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** Removes every file of a video: its folder and any upload still in progress. */
  async removeVideo(id: string): Promise<void> {
    await rm(this.videoDir(id), { recursive: true, force: true });
    await rm(this.incoming(id), { force: true });
    await rm(this.tusFile(id), { force: true });
    await rm(`${this.tusFile(id)}.json`, { force: true });
  }

  /** Leftovers of interrupted work inside a video's folder (.partial folders). */
  async removePartials(id: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.videoDir(id));
    } catch {
      return;
    }
    for (const n of names)
      if (n.endsWith('.partial')) await rm(path.join(this.videoDir(id), n), { recursive: true, force: true });
  }
}

/** Free bytes for m3w on the disk that holds `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Throws 507 unless `incoming` more bytes still leave `keepFree` free. */
export async function ensureRoom(dir: string, incoming: number, keepFree: number): Promise<void> {
  const free = await freeBytes(dir);
  if (free - incoming < keepFree)
    throw new MediaError(
      'INSUFFICIENT_STORAGE',
      `not enough disk space: ${incoming} bytes to store, ${free} bytes free, and ${keepFree} bytes must stay free (minFreeDiskBytes)`,
    );
}
