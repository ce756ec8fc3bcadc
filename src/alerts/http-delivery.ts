// The outgoing HTTP client for notifications: one POST with a deadline over the whole exchange, redirects
// followed only within the same host (a receiver cannot bounce m3w to another host), and at most
// maxResponseBytes of the answer read.
export interface DeliveryLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface DeliveryResult {
  ok: boolean;
  status?: number;
  error?: string;
}

const MAX_REDIRECTS = 3;

export async function postNotification(
  target: { url: string; headers: Record<string, string>; body: string },
  limits: DeliveryLimits,
): Promise<DeliveryResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    let url = new URL(target.url);
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: target.headers,
        body: target.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
        await drain(res, 0);
        const next = new URL(res.headers.get('location')!, url);
        if (next.host !== url.host || (next.protocol !== url.protocol && next.protocol !== 'https:'))
          return { ok: false, status: res.status, error: `redirect to another host (${next.host}) refused` };
        if (hop >= MAX_REDIRECTS) return { ok: false, status: res.status, error: 'too many redirects' };
        url = next;
        continue;
      }
      await drain(res, limits.maxResponseBytes);
      if (res.ok) return { ok: true, status: res.status };
      // The receiver's words are not repeated: the attempt log is shown to the app's users, and echoing what any
      // URL answers would let them read internal services through m3w.
      return { ok: false, status: res.status, error: `receiver answered ${res.status}` };
    }
  } catch (err) {
    if (controller.signal.aborted) return { ok: false, error: `no answer within ${limits.timeoutMs / 1000} s` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: cause?.code ?? cause?.message ?? (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads at most `max` bytes of the body and drops the rest. */
async function drain(res: Response, max: number): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
