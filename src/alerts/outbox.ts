// Delivers queued notifications: due rows are claimed from the store's outbox (at most maxInFlight at once),
// rendered for their channel, sent with a deadline, and recorded; a failure is retried after each of the
// configured delays (1, 5, 30 min by default), then given up. The minute job only queues rows and wakes this
// worker, so a receiver that is down or slow never holds it up. Rows a crash left "sending" are sent again at
// start-up (at least once: receivers can recognise a repeat by X-M3W-Delivery).
import type { Logger } from '../observability/index.ts';
import type { ChannelRecord, OutboxRecord, Store } from '../store/index.ts';
import {
  type ChannelSettings,
  type EmailSettings,
  type NtfySettings,
  targetHost,
  type WebhookSettings,
} from './channel-settings.ts';
import { assertPublicHost, PrivateTargetError } from './private-targets.ts';
import type { SecretBox } from './channel-secrets.ts';
import { sendEmail } from './email-delivery.ts';
import { type DeliveryResult, postNotification } from './http-delivery.ts';
import { emailMessage, httpNotification, type OutboxPayload } from './notification-format.ts';

export interface OutboxOptions {
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  maxInFlight: number;
  maxResponseBytes: number;
}

/** Longest sleep between looks at the outbox (another instance may have queued rows). */
const IDLE_POLL_MS = 30_000;

export class NotificationOutbox {
  private inFlight = 0;
  private readonly sending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private pumping = false;
  private again = false;
  private stopped = false;
  private readonly delivered = new Set<(row: OutboxRecord) => void>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly logger: Logger,
    private readonly opts: OutboxOptions,
  ) {}

  /** Puts rows a crash left in flight back in the queue and starts delivering. */
  async start(): Promise<void> {
    const requeued = await this.store.alerts.requeueInterrupted(Date.now());
    if (requeued > 0) this.logger.info({ requeued }, 'notifications interrupted by a stop are queued again');
    this.wake();
  }

  /** Looks at the outbox now (new rows were queued). */
  wake(): void {
    this.schedule(0);
  }

  /** Observes each finished attempt (tests, the live feed). */
  onAttempt(fn: (row: OutboxRecord) => void): () => void {
    this.delivered.add(fn);
    return () => this.delivered.delete(fn);
  }

  /** Stops taking rows and waits for the ones being sent (each is bounded by the timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.sending]);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pump(), Math.max(0, ms));
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    let next = IDLE_POLL_MS;
    try {
      do {
        this.again = false;
        const free = this.opts.maxInFlight - this.inFlight;
        if (free <= 0 || this.stopped) break;
        const rows = await this.store.alerts.claimDueNotifications(Date.now(), free);
        for (const row of rows) this.send(row);
      } while (this.again);
      const due = await this.store.alerts.nextDueAt();
      if (due !== null) next = Math.min(IDLE_POLL_MS, due - Date.now());
    } catch (err) {
      this.logger.error({ err }, 'notification outbox');
      next = 5_000;
    } finally {
      this.pumping = false;
    }
    // While every slot is busy, a finishing delivery wakes the pump.
    if (this.inFlight < this.opts.maxInFlight) this.schedule(next);
  }

  private send(row: OutboxRecord): void {
    this.inFlight++;
    const p = this.deliver(row)
      .catch((err: unknown) => this.logger.error({ err, notification: row.id }, 'notification delivery'))
      .finally(() => {
        this.inFlight--;
        this.sending.delete(p);
        this.wake();
      });
    this.sending.add(p);
  }

  private async deliver(row: OutboxRecord): Promise<void> {
    const channel = await this.store.alerts.getChannel(row.channelId);
    const result = channel ? await this.attempt(channel, row) : { ok: false, error: 'the channel was deleted' };
    const retryAt =
      // A channel's test message is tried once: its sender is waiting for the answer.
      result.ok || !channel || row.eventId === null || row.attempts >= this.opts.retryDelaysMs.length
        ? null
        : Date.now() + this.opts.retryDelaysMs[row.attempts]!;
    const done = await this.store.alerts.completeNotification(row.id, { at: Date.now(), ...result }, retryAt);
    if (!result.ok)
      this.logger.warn(
        { notification: row.id, channel: row.channelId, error: result.error, retryAt },
        retryAt ? 'notification failed; will retry' : 'notification failed; given up',
      );
    if (done) for (const fn of this.delivered) fn(done);
  }

  private async attempt(channel: ChannelRecord, row: OutboxRecord): Promise<DeliveryResult> {
    let settings: ChannelSettings;
    try {
      settings = this.box.open<ChannelSettings>(channel.sealed);
    } catch (err) {
      return { ok: false, error: `channel settings cannot be opened: ${(err as Error).message}` };
    }
    // A channel a member made may only reach public addresses, checked again now: its name may resolve elsewhere.
    if (!settings.internal) {
      try {
        await assertPublicHost(targetHost(settings));
      } catch (err) {
        if (err instanceof PrivateTargetError) return { ok: false, error: err.message };
        throw err;
      }
    }
    const payload = JSON.parse(row.payload) as OutboxPayload;
    if (channel.type === 'email')
      return sendEmail(settings as EmailSettings, emailMessage(payload), this.opts.timeoutMs);
    return postNotification(
      httpNotification(channel.type, settings as WebhookSettings | NtfySettings, payload, row.id),
      {
        timeoutMs: this.opts.timeoutMs,
        maxResponseBytes: this.opts.maxResponseBytes,
        publicOnly: !settings.internal,
      },
    );
  }
}
