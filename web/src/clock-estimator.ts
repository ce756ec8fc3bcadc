// The room page's clock: an NTP-style estimate of the server clock from ping/pong samples. Each sample gives a
// round trip and an offset (serverTime − the client time halfway through it); the sample with the shortest round
// trip of the last eight is the one least disturbed by queueing, so its offset is used. The protocol tests'
// clients use it too.
export interface ClockSample {
  rttMs: number;
  offsetMs: number;
}

export class ClockEstimator {
  private readonly samples: ClockSample[] = [];

  constructor(private readonly keep = 8) {}

  /** A pong: the client's send time it echoes, the server's time, and the client time it arrived. */
  add(clientSent: number, serverTime: number, clientReceived: number): ClockSample | null {
    const rttMs = clientReceived - clientSent;
    if (!Number.isFinite(rttMs) || rttMs < 0 || !Number.isFinite(serverTime)) return null;
    const sample = { rttMs, offsetMs: serverTime - (clientSent + rttMs / 2) };
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.shift();
    return sample;
  }

  get sampleCount(): number {
    return this.samples.length;
  }

  private best(): ClockSample | null {
    let best: ClockSample | null = null;
    for (const s of this.samples) if (!best || s.rttMs < best.rttMs) best = s;
    return best;
  }

  /** serverTime − clientTime; 0 before any sample. */
  get offsetMs(): number {
    return this.best()?.offsetMs ?? 0;
  }

  /** The shortest recent round trip, or null. */
  get rttMs(): number | null {
    return this.best()?.rttMs ?? null;
  }

  toServer(clientTime: number): number {
    return clientTime + this.offsetMs;
  }

  toClient(serverTime: number): number {
    return serverTime - this.offsetMs;
  }

  /** Ping cadence: every second for the first three samples, then every 15 s. */
  nextPingDelayMs(): number {
    return this.samples.length < 3 ? 1000 : 15_000;
  }
}
