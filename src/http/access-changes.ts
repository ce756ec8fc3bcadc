// Access taken away on one instance (a key revoked, rotated or given other origins, an app deleted, a grant
// removed, a user disabled, a login ended, an invite revoked) applies on every instance at once: here, cached
// keys are dropped and open WebSockets re-checked; other instances sharing the database hear it on the instance
// bus and do the same. Without the message they caught up by themselves: keys within the key cache's 10 s,
// room sockets at their next heartbeat re-check (9.5–14 s measured).
import { ACCESS_CHANGED_TOPIC, type ApiKeyAuthenticator } from '../auth/index.ts';
import type { RoomHub } from '../rooms/index.ts';
import type { InstanceBus } from '../store/index.ts';
import type { LiveHub } from '../ws/index.ts';

export interface AccessChanges {
  /** Something that grants access changed on this instance: apply it here and tell the others. */
  changed(): void;
  stop(): void;
}

export function accessChanges(opts: {
  bus: InstanceBus | null;
  keys: ApiKeyAuthenticator;
  live: Pick<LiveHub, 'reauthorize'>;
  rooms: Pick<RoomHub, 'reauthorize'>;
}): AccessChanges {
  const apply = () => {
    opts.keys.forget(); // first: the re-checks of sockets opened with a key must not hit its cached record
    void opts.live.reauthorize();
    void opts.rooms.reauthorize();
  };
  // The bus never hands a publisher its own message, so hearing one cannot echo back.
  const stopHearing = opts.bus?.subscribe((m) => {
    if (m.topic === ACCESS_CHANGED_TOPIC) apply();
  });
  return {
    changed() {
      apply();
      opts.bus?.publish(ACCESS_CHANGED_TOPIC, '', {});
    },
    stop() {
      stopHearing?.();
    },
  };
}
