// Webhook events and requests for the engine tests: events shaped like Flussonic's, posted over real HTTP.
export interface EventOverrides {
  [field: string]: unknown;
}

export function playStarted(id: string, openedAt: number, o: EventOverrides = {}): Record<string, unknown> {
  return {
    time: new Date(openedAt).toISOString(),
    event: 'play_started',
    id,
    server: 'au13.example.com',
    media: '7mate',
    user_id: '134',
    user_name: '7mate',
    ip: '58.105.162.248',
    country: 'AU',
    proto: 'hls',
    bytes: 0,
    token: 'secret-token',
    source_id: 'src-1',
    user_agent: 'Lavf53.32.100',
    opened_at: openedAt,
    query_string: 'token=secret-token',
    ...o,
  };
}

export function playClosed(
  id: string,
  openedAt: number,
  closedAt: number,
  o: EventOverrides = {},
): Record<string, unknown> {
  return {
    ...playStarted(id, openedAt, o),
    event: 'play_closed',
    time: new Date(closedAt).toISOString(),
    closed_at: closedAt,
    reason: 'normal',
    ...o,
  };
}

export async function postWebhook(
  url: string,
  body: unknown,
  key: string | null,
  opts: { query?: string; raw?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key && !opts.query) headers['x-api-key'] = key;
  return fetch(`${url}/api/webhook${opts.query ?? ''}`, {
    method: 'POST',
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
}
