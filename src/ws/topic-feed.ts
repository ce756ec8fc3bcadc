// What the live feed last sent of each topic, and when: a topic's snapshot is taken once however many peers
// watch it, and goes out only when it changed and at most once per interval (a little less, for timer jitter).
// A topic nobody watches any more is forgotten, so one who subscribes again gets the state of now.
// Knows nothing of peers: it hands each message to the hub's `deliver`.

export interface LiveTopic<P> {
  /** Whether `principal` may subscribe to this topic with this argument (the part after the colon). */
  authorize(arg: string, principal: P): boolean | Promise<boolean>;
  /** The topic's current state, compared between intervals; omit for push-only topics (moments). */
  snapshot?(arg: string): unknown | Promise<unknown>;
  /** Lets the topic say its data may have changed (e.g. after a write), so a quiet topic is sent at once. */
  watch?(changed: () => void): void;
}

/** "stream:<app>:<channel>" → ["stream", "<app>:<channel>"]; a topic without a colon has an empty argument. */
export function splitTopic(topic: string): [string, string] {
  const i = topic.indexOf(':');
  return i < 0 ? [topic, ''] : [topic.slice(0, i), topic.slice(i + 1)];
}

export const updateMessage = (topic: string, dataJson: string): string =>
  `{"type":"update","topic":${JSON.stringify(topic)},"at":${Date.now()},"data":${dataJson}}`;

export class TopicFeed<P> {
  /** Last snapshot sent per topic, as JSON, to send only changes. */
  private readonly lastSnapshot = new Map<string, string>();
  /** When each topic was last sent. */
  private readonly lastSentAt = new Map<string, number>();
  private readonly minGapMs: number;

  constructor(
    private readonly topics: Record<string, LiveTopic<P>>,
    intervalMs: number,
    private readonly onError: (err: unknown, where: string) => void,
  ) {
    this.minGapMs = intervalMs * 0.9;
  }

  /** The topic definition for a prefix. Own keys only: a client's "__proto__" or "toString" must not reach Object.prototype. */
  definition(prefix: string): LiveTopic<P> | undefined {
    return Object.hasOwn(this.topics, prefix) ? this.topics[prefix] : undefined;
  }

  /** The topic's state as JSON now, or undefined for a push-only or unknown topic. */
  async snapshotText(topic: string): Promise<string | undefined> {
    const [prefix, arg] = splitTopic(topic);
    const def = this.definition(prefix);
    if (!def?.snapshot) return undefined;
    const data = await def.snapshot(arg);
    if (data === undefined) return undefined;
    return JSON.stringify(data);
  }

  /** The state last sent for `topic`, as JSON, if any. */
  lastSent(topic: string): string | undefined {
    return this.lastSnapshot.get(topic);
  }

  /** Records `text` as sent for `topic` now. */
  sent(topic: string, text: string): void {
    this.lastSnapshot.set(topic, text);
    this.lastSentAt.set(topic, Date.now());
  }

  /** Forgets what was sent for `topic` (nobody watches it any more). */
  forget(topic: string): void {
    this.lastSnapshot.delete(topic);
    this.lastSentAt.delete(topic);
  }

  /** Forgets every topic not in `wanted`. */
  keepOnly(wanted: Set<string>): void {
    for (const topic of this.lastSnapshot.keys()) if (!wanted.has(topic)) this.forget(topic);
  }

  /** Sends each topic's new state — once per topic however many peers watch it — unless sent within an interval. */
  async sendChanged(topics: Iterable<string>, deliver: (topic: string, message: string) => void): Promise<void> {
    for (const topic of topics) {
      if (Date.now() - (this.lastSentAt.get(topic) ?? 0) < this.minGapMs) continue;
      let text: string | undefined;
      try {
        text = await this.snapshotText(topic);
      } catch (err) {
        this.onError(err, `snapshot ${topic}`);
        continue;
      }
      if (text === undefined || this.lastSnapshot.get(topic) === text) continue;
      this.sent(topic, text);
      deliver(topic, updateMessage(topic, text));
    }
  }
}
