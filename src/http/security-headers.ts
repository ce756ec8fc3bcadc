// The security headers every response carries, errors and API answers included, and the one place that
// says which routes other sites may frame (the player pages) and which HTML needs its own policy.
import type { ResponseHeaderWriter } from './exchange.ts';
import { CONTENT_SECURITY_POLICY, PLAYER_CONTENT_SECURITY_POLICY } from './static-assets.ts';

/** Route pattern → the CSP frame-ancestors sources allowed to frame it. Every other route: 'none'. */
export const FRAMEABLE_ROUTES: ReadonlyMap<string, string> = new Map<string, string>([
  // The dashboard shows /watch in a frame; /embed is for any site (its guest token is the access control).
  ['/watch/:id', "'self'"],
  ['/embed/:id', '*'],
]);

/** Route pattern → the policy of its HTML, where it is not the dashboard's. */
const HTML_POLICIES: ReadonlyMap<string, string> = new Map<string, string>([
  ['/watch/:id', PLAYER_CONTENT_SECURITY_POLICY],
  ['/embed/:id', PLAYER_CONTENT_SECURITY_POLICY],
  ['/rooms/:id', PLAYER_CONTENT_SECURITY_POLICY],
]);

/** Nothing but JSON and files are served outside HTML: such a document may load and run nothing. */
const NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Sets the headers on a response about to be sent; `route` is the matched route pattern. */
export function applySecurityHeaders(
  headers: ResponseHeaderWriter,
  route: string | undefined,
  frameable: ReadonlyMap<string, string> = FRAMEABLE_ROUTES,
): void {
  headers.set('x-content-type-options', 'nosniff');
  headers.set('referrer-policy', 'no-referrer');
  headers.set('cross-origin-opener-policy', 'same-origin');
  const html = (headers.get('content-type') ?? '').toLowerCase().startsWith('text/html');
  const ancestors = route === undefined ? undefined : frameable.get(route);
  let policy = html ? ((route && HTML_POLICIES.get(route)) ?? CONTENT_SECURITY_POLICY) : NON_HTML_POLICY;
  if (ancestors === undefined) headers.set('x-frame-options', 'DENY');
  else {
    // X-Frame-Options has no "these sites" form that browsers honour; frame-ancestors alone decides.
    headers.delete('x-frame-options');
    policy = policy.replace("frame-ancestors 'none'", `frame-ancestors ${ancestors}`);
  }
  headers.set('content-security-policy', policy);
}
