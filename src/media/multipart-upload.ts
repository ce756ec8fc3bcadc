// Receives a multipart/form-data upload as a stream: the `file` part goes straight to a file on disk (never
// held in memory), small text fields are collected. Limits are enforced while the bytes arrive: the size limit
// (413) and the free-disk margin (507), checked every few megabytes; on any failure the partial file is removed.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { MediaError } from './media-error.ts';
import { ensureRoom } from './media-paths.ts';

export interface MultipartLimits {
  maxFileBytes: number;
  /** Directory whose disk must keep `keepFreeBytes` free. */
  diskDir: string;
  keepFreeBytes: number;
}

export interface MultipartResult {
  fields: Record<string, string>;
  /** Bytes of the `file` part, or null when there was none. */
  fileBytes: number | null;
}

const MAX_FIELDS = 16;
const MAX_FIELD_BYTES = 4096;
const MAX_HEADER_BYTES = 8192;
const DISK_CHECK_EVERY = 8 * 1024 * 1024;

export function multipartBoundary(contentType: string | null): string {
  const m = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType ?? '');
  if (!m)
    throw new MediaError(
      'UNSUPPORTED_MEDIA_TYPE',
      'send the video as multipart/form-data with a boundary and a "file" field (curl -F file=@movie.mp4)',
    );
  return (m[1] ?? m[2])!;
}

function partName(headers: string): { name: string; isFile: boolean } {
  const disposition = /^content-disposition:\s*form-data\s*;(.*)$/im.exec(headers)?.[1] ?? '';
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? /\bname=([^;\s]+)/i.exec(disposition)?.[1];
  if (name === undefined) throw new MediaError('INVALID_SCHEMA', 'a multipart part has no name');
  return { name, isFile: /\bfilename\*?=/i.test(disposition) };
}

/** Streams `body` into `filePath` (created 0600, must not exist) and returns the text fields. */
export async function receiveMultipart(
  body: ReadableStream<Uint8Array> | null,
  contentType: string | null,
  filePath: string,
  limits: MultipartLimits,
): Promise<MultipartResult> {
  const boundary = multipartBoundary(contentType);
  if (!body) throw new MediaError('INVALID_SCHEMA', 'the request has no body');
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const fields: Record<string, string> = {};
  let fh: FileHandle | null = null;
  let fileBytes: number | null = null;
  let nextDiskCheck = DISK_CHECK_EVERY;
  // A leading CRLF lets the first boundary match the same delimiter as the others.
  let buf: Buffer = Buffer.from('\r\n');
  type State = 'preamble' | 'afterBoundary' | 'headers' | 'body' | 'done';
  let state = 'preamble' as State;
  const isDone = () => (state as State) === 'done';
  let part: { name: string; isFile: boolean; text: Buffer[]; textBytes: number } | null = null;

  const emit = async (data: Buffer): Promise<void> => {
    if (!part || data.length === 0) return;
    if (part.isFile) {
      fileBytes = (fileBytes ?? 0) + data.length;
      if (fileBytes > limits.maxFileBytes)
        throw new MediaError(
          'PAYLOAD_TOO_LARGE',
          `the file is over the upload limit of ${limits.maxFileBytes} bytes (maxUploadBytes)`,
        );
      if (fileBytes >= nextDiskCheck) {
        nextDiskCheck += DISK_CHECK_EVERY;
        await ensureRoom(limits.diskDir, 0, limits.keepFreeBytes);
      }
      await fh!.write(data);
    } else {
      part.textBytes += data.length;
      if (part.textBytes > MAX_FIELD_BYTES)
        throw new MediaError('INVALID_SCHEMA', `field ${part.name}: at most ${MAX_FIELD_BYTES} bytes`);
      part.text.push(data);
    }
  };

  const endPart = (): void => {
    if (part && !part.isFile) fields[part.name] = Buffer.concat(part.text).toString('utf8');
    part = null;
  };

  const process = async (): Promise<void> => {
    for (;;) {
      if (state === 'preamble' || state === 'body') {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          // Keep a tail that could be the start of a delimiter split across chunks.
          const keep = Math.min(buf.length, delimiter.length - 1);
          if (state === 'body') await emit(buf.subarray(0, buf.length - keep));
          buf = buf.subarray(buf.length - keep);
          return;
        }
        if (state === 'body') await emit(buf.subarray(0, at));
        endPart();
        buf = buf.subarray(at + delimiter.length);
        state = 'afterBoundary';
      }
      if (state === 'afterBoundary') {
        if (buf.length < 2) return;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          return;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) {
          if (buf.length > 256) throw new MediaError('INVALID_SCHEMA', 'malformed multipart boundary line');
          return;
        }
        buf = buf.subarray(eol + 2);
        state = 'headers';
      }
      if (state === 'headers') {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new MediaError('INVALID_SCHEMA', 'multipart part headers too long');
          return;
        }
        const { name, isFile } = partName(buf.subarray(0, end).toString('utf8'));
        buf = buf.subarray(end + 4);
        if (name === 'file') {
          if (fh) throw new MediaError('INVALID_SCHEMA', 'send exactly one "file" part');
          fh = await open(filePath, 'wx', 0o600);
          fileBytes = 0;
          part = { name, isFile: true, text: [], textBytes: 0 };
        } else {
          if (isFile)
            throw new MediaError('INVALID_SCHEMA', `unexpected file part ${JSON.stringify(name)}; use "file"`);
          if (Object.keys(fields).length >= MAX_FIELDS) throw new MediaError('INVALID_SCHEMA', 'too many form fields');
          part = { name, isFile: false, text: [], textBytes: 0 };
        }
        state = 'body';
      }
      if (state === 'done') return;
    }
  };

  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (isDone()) continue; // an epilogue is ignored
      buf = buf.length === 0 ? Buffer.from(value) : Buffer.concat([buf, value]);
      await process();
    }
    if (!isDone()) throw new MediaError('INVALID_SCHEMA', 'the multipart body ended early (upload interrupted?)');
    if (fh) {
      await (fh as FileHandle).sync();
      await (fh as FileHandle).close();
      fh = null;
    }
    return { fields, fileBytes };
  } catch (err) {
    await reader.cancel().catch(() => {});
    if (fh) await (fh as FileHandle).close().catch(() => {});
    await rm(filePath, { force: true });
    throw err;
  }
}
