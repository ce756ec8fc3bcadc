// Real receivers for notification tests: an HTTP server on an ephemeral port that records every request (raw
// body and headers) and answers as the test says, and an SMTP server (smtp-server) that keeps each message.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Answer = (req: ReceivedRequest, res: http.ServerResponse) => void;

export interface HttpReceiver {
  url: string;
  host: string;
  requests: ReceivedRequest[];
  /** Requests received and not answered yet. */
  open(): number;
  /** How the next requests are answered (default: 200 "ok"). */
  answer: Answer;
  close(): Promise<void>;
}

export async function startHttpReceiver(host = '127.0.0.1'): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let open = 0;
  const receiver: HttpReceiver = {
    url: '',
    host,
    requests,
    open: () => open,
    answer: (_req, res) => res.end('ok'),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      open++;
      res.on('close', () => open--);
      receiver.answer(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  receiver.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpReceiver {
  port: number;
  mails: Mail[];
  /** Each AUTH the server was given. */
  logins: Array<{ user: string; password: string }>;
  close(): Promise<void>;
}

interface SmtpSession {
  envelope: { mailFrom: { address: string } | false; rcptTo: Array<{ address: string }> };
}
interface SmtpServerInstance {
  listen(port: number, host: string, cb: () => void): void;
  close(cb: () => void): void;
  server: { address(): AddressInfo };
}
type SmtpServerClass = new (opts: Record<string, unknown>) => SmtpServerInstance;

/** A real SMTP server (the smtp-server package) on an ephemeral port, plain (no TLS), no login needed. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const { SMTPServer } = createRequire(import.meta.url)('smtp-server') as { SMTPServer: SmtpServerClass };
  const mails: Mail[] = [];
  const logins: Array<{ user: string; password: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    // Plain connection in the test: AUTH is allowed without TLS, and any user and password are taken (recorded).
    allowInsecureAuth: true,
    onAuth(
      auth: { username: string; password: string },
      _session: unknown,
      cb: (e: Error | null, r?: unknown) => void,
    ) {
      logins.push({ user: auth.username, password: auth.password });
      cb(null, { user: auth.username });
    },
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream: NodeJS.ReadableStream, session: SmtpSession, callback: (err?: Error) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.server.address().port,
    mails,
    logins,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
