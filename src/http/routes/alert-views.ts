// How a notification delivery is shown by the channel and alert-history routes (the attempt log, never the
// receiver's answers).
import type { OutboxRecord } from '../../store/index.ts';

export function notificationView(n: OutboxRecord) {
  return {
    id: n.id,
    channelId: n.channelId,
    status: n.status,
    attempts: n.attempts,
    attemptLog: n.attemptLog,
    nextAttemptAt: n.nextAttemptAt,
    deliveredAt: n.deliveredAt,
  };
}
