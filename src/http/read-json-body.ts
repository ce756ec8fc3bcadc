// Reads a JSON request body straight from the Node stream (much cheaper than the web Request body on Node),
// enforcing content type, encoding and size (after decompression) before anything is parsed.
import { createGunzip, type Gunzip } from 'node:zlib';
import type { H3Event } from 'h3';
import { ApiError } from './errors.ts';
import { type HttpExchange, nodeRequestOf } from './exchange.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** The client hung up before its whole body arrived (nobody reads the answer; it keeps the log at 4xx). */
const hungUp = () => new ApiError('INVALID_SCHEMA', 'the request body ended early: the client closed the connection');

function collect(stream: NodeJS.ReadableStream, maxBytes: number, tooLarge: () => ApiError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A request that waited (for the ingestion budget) may be gone already: its 'error' and 'close' were
    // emitted before anyone listened, so waiting for 'end' would hang and hold the budget for good.
    const readable = stream as NodeJS.ReadableStream & { destroyed?: boolean; readableEnded?: boolean };
    if (readable.destroyed && !readable.readableEnded) {
      reject(hungUp());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? hungUp() : err);
    };
    const onClose = () => {
      cleanup();
      reject(hungUp());
    };
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Parses the body as JSON. Malformed JSON, a wrong type or encoding, or an oversized body become ApiErrors. */
export async function readJsonBody(event: HttpExchange, maxBytes: number): Promise<unknown> {
  return parseJsonText(await readJsonText(event, maxBytes));
}

/** The body as text, checked like readJsonBody's but not parsed yet (the ingestion routes parse under their budget). */
export async function readJsonText(event: HttpExchange, maxBytes: number): Promise<string> {
  const contentType = event.req.headers.get('content-type');
  if (!contentType || !JSON_TYPE.test(contentType.trim()))
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type must be application/json (charset utf-8), got ${contentType ? JSON.stringify(contentType) : 'none'}`,
    );
  const encoding = (event.req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip')
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding must be gzip or absent, got ${JSON.stringify(encoding)}`,
    );
  // The rest of an oversized body is never read, so the connection cannot be reused.
  const tooLarge = () =>
    new ApiError(
      'PAYLOAD_TOO_LARGE',
      `request body exceeds ${maxBytes} bytes${encoding === 'gzip' ? ' after decompression' : ''}`,
      undefined,
      { connection: 'close' },
    );

  const declared = Number(event.req.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge();

  const req = nodeRequestOf(event);
  let buffer: Buffer;
  if (encoding === 'gzip') {
    const gunzip: Gunzip = createGunzip();
    const decompressed = collect(gunzip, maxBytes, tooLarge);
    req.pipe(gunzip);
    try {
      buffer = await decompressed;
    } catch (err) {
      req.unpipe(gunzip);
      gunzip.destroy();
      if (err instanceof ApiError) throw err;
      throw new ApiError('INVALID_SCHEMA', `request body is not valid gzip: ${(err as Error).message}`);
    }
  } else {
    buffer = await collect(req, maxBytes, tooLarge);
  }
  if (buffer.length === 0) throw new ApiError('INVALID_SCHEMA', 'request body is empty; expected JSON');
  try {
    return utf8.decode(buffer);
  } catch {
    throw new ApiError('INVALID_SCHEMA', 'request body is not valid UTF-8');
  }
}

/** JSON.parse with the error a client can act on. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message says where the JSON broke ("Unexpected token } in JSON at position 12").
    const reason = err instanceof SyntaxError ? err.message : 'nesting too deep';
    throw new ApiError('INVALID_SCHEMA', `request body is not valid JSON: ${reason}`);
  }
}

const SMALL_BODY = 64 * 1024;

/**
 * A small JSON object body (accounts, settings). With `optional`, a request without a body reads as {}:
 * cookie-authenticated refresh and logout need nothing else.
 */
export async function readJsonObject(
  event: H3Event,
  opts: { optional?: boolean } = {},
): Promise<Record<string, unknown>> {
  if (
    opts.optional &&
    !event.req.headers.get('content-type') &&
    !(Number(event.req.headers.get('content-length') ?? 0) > 0)
  )
    return {};
  const body = await readJsonBody(event, SMALL_BODY);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError('INVALID_SCHEMA', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}
