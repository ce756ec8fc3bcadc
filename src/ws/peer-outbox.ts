// A per-peer outbox for WebSocket servers: replies go out at once, state updates wait in one slot per key that
// a newer update overwrites (latest state wins) while the socket is backed up, and a peer that keeps the
// socket backed up far beyond that is dropped. Knows nothing of topics or protocols, so any socket (the live
// feed, a room) can use it.

/** What the outbox needs of a socket (a crossws Peer has all of it). */
export interface OutboxSocket {
  readonly bufferedAmount: number;
  send(text: string): unknown;
  terminate(): void;
}

export interface PeerOutboxOptions {
  /** Above this many unsent bytes, queued updates wait for the socket to drain. */
  maxBufferedBytes: number;
  /** Called when the peer was terminated for not reading (its socket held over 4 × maxBufferedBytes). */
  onDropped?(): void;
  onError?(err: unknown, where: string): void;
}

export class PeerOutbox {
  /** Updates not yet sent because the socket was backed up; one per slot, the latest. */
  private readonly pending = new Map<string, string>();

  constructor(
    private readonly socket: OutboxSocket,
    private readonly opts: PeerOutboxOptions,
  ) {}

  /** Sends a reply now, skipping the slots; drops the peer when it has stopped reading. */
  sendNow(text: string): void {
    // Replies (pong, subscribed, error) skip the coalescing slots; a client that keeps asking while reading
    // nothing would make them pile up, so it is dropped instead.
    if (this.socket.bufferedAmount > 4 * this.opts.maxBufferedBytes) {
      this.socket.terminate();
      this.opts.onDropped?.();
      return;
    }
    try {
      this.socket.send(text);
    } catch (err) {
      this.opts.onError?.(err, 'send');
    }
  }

  /** Puts `text` in `slot` (replacing what waited there) and sends what waits unless the socket is backed up. */
  queue(slot: string, text: string): void {
    this.pending.set(slot, text);
    this.flush();
  }

  /** Sends what is waiting unless the socket is backed up; then it keeps waiting, overwritten by newer states. */
  flush(): void {
    if (this.pending.size === 0 || this.socket.bufferedAmount > this.opts.maxBufferedBytes) return;
    for (const text of this.pending.values()) this.sendNow(text);
    this.pending.clear();
  }

  /** Drops what waits in `slot` (the peer no longer wants it). */
  forget(slot: string): void {
    this.pending.delete(slot);
  }
}
