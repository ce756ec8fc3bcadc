// The part of a request/response that the ingestion guards (API key, playback credential, CORS, rate limits,
// body reading) use. An h3 event is one; NodeExchange is one built straight on node:http's request, so the hot
// POST /v1/sessions can run the very same guards without h3/srvx making web Request and Headers objects.
import type { IncomingMessage } from 'node:http';

export interface RequestHeaderReader {
  get(name: string): string | null;
  has(name: string): boolean;
}

export interface ResponseHeaderWriter {
  get(name: string): string | null;
  set(name: string, value: string): void;
  delete(name: string): void;
}

export interface HttpExchange {
  readonly req: { readonly headers: RequestHeaderReader };
  readonly res: { readonly headers: ResponseHeaderWriter };
  readonly url: { readonly searchParams: URLSearchParams };
  readonly runtime?: { readonly node?: { readonly req?: unknown } };
}

/** The Node request under an exchange (m3w only runs on Node). */
export function nodeRequestOf(exchange: HttpExchange): IncomingMessage {
  const req = exchange.runtime?.node?.req;
  if (!req) throw new Error('m3w runs on Node; no Node request on this event');
  return req as IncomingMessage;
}

// Headers Node keeps only the first of when repeated; a web Headers object joins them. Read like srvx does, so a
// repeated Content-Type or Authorization is judged the same on both paths.
const NON_JOINED = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Request headers read from node:http's parsed object, with the web Headers semantics for repeats. */
class NodeRequestHeaders implements RequestHeaderReader {
  constructor(private readonly req: IncomingMessage) {}

  get(name: string): string | null {
    const lower = name.toLowerCase();
    const value = this.req.headers[lower];
    if (value === undefined) return null;
    if (Array.isArray(value)) return value.join(', ');
    return NON_JOINED.has(lower) ? this.joinedRaw(lower, value) : value;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.req.headers, name.toLowerCase());
  }

  private joinedRaw(lower: string, first: string): string {
    const raw = this.req.rawHeaders;
    let joined: string | null = null;
    let seen = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i]!;
      if (key.length !== lower.length || key.toLowerCase() !== lower) continue;
      seen += 1;
      joined = joined === null ? raw[i + 1]! : `${joined}, ${raw[i + 1]!}`;
    }
    return seen > 1 && joined !== null ? joined : first;
  }
}

/** Response headers kept as lower-case name → value until the answer is written. */
export class ResponseHeaderMap implements ResponseHeaderWriter {
  readonly entries = new Map<string, string>();

  get(name: string): string | null {
    return this.entries.get(name.toLowerCase()) ?? null;
  }

  set(name: string, value: string): void {
    this.entries.set(name.toLowerCase(), value);
  }

  delete(name: string): void {
    this.entries.delete(name.toLowerCase());
  }

  /** Name, value, name, value…: the flat list node:http's writeHead takes without copying into an object. */
  toFlatList(): string[] {
    const list: string[] = [];
    for (const [name, value] of this.entries) list.push(name, value);
    return list;
  }
}

/** An exchange straight on node:http: no web Request, Headers or Response is made. */
export class NodeExchange implements HttpExchange {
  readonly req: { readonly headers: RequestHeaderReader };
  readonly res = { headers: new ResponseHeaderMap() };
  readonly runtime: { readonly node: { readonly req: IncomingMessage } };
  private parsedUrl: URL | undefined;

  constructor(private readonly request: IncomingMessage) {
    this.req = { headers: new NodeRequestHeaders(request) };
    this.runtime = { node: { req: request } };
  }

  get url(): URL {
    // Only a route that accepts ?key= reads the query; POST /v1/sessions never does.
    this.parsedUrl ??= new URL(this.request.url ?? '/', 'http://localhost');
    return this.parsedUrl;
  }
}
