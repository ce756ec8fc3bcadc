// A real WebSocket client (the `ws` package) with the waits tests need: the next message matching a predicate,
// and the close code and reason.
import WebSocket from 'ws';

export interface TestSocket {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  /** Resolves with the first message (already received or still to come) after `from` that matches. */
  next(
    match: (m: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<Record<string, unknown>>;
  send(msg: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openSocket(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers });
  const messages: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of waiters) w();
    }),
  );
  const socket: TestSocket = {
    ws,
    messages,
    next(match, timeoutMs = 5000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.slice(from).find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms; got (last 800 characters) ${JSON.stringify(messages).slice(-800)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    send: (msg) => ws.send(JSON.stringify(msg)),
    closed,
    close: () => ws.close(),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('error', reject);
  });
}
