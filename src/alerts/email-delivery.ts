// Email notifications over SMTP with nodemailer: TLS from the start, STARTTLS required, or plain (a local relay).
// nodemailer is loaded on the first email, not at start: most servers never send one, and it costs memory.
import type { EmailSettings } from './channel-settings.ts';
import type { DeliveryResult } from './http-delivery.ts';

export async function sendEmail(
  settings: EmailSettings,
  message: { subject: string; text: string },
  timeoutMs: number,
): Promise<DeliveryResult> {
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    const info = await transport.sendMail({
      from: settings.from,
      to: settings.to.join(', '),
      subject: message.subject,
      text: message.text,
    });
    const code = /^(\d{3})/.exec(info.response ?? '')?.[1];
    return { ok: true, status: code ? Number(code) : undefined };
  } catch (err) {
    const e = err as { responseCode?: number; message: string };
    return { ok: false, status: e.responseCode, error: e.message.slice(0, 300) };
  } finally {
    transport.close();
  }
}
