// A room's figures for the minute in progress: members connected (peak), chat messages, unique chatters, the
// emotes used (emoji and `:shortcode:` tokens) and the mean sentiment of the messages when a scorer is given.
// Emoji are matched by the engine's own Unicode emoji property (`\p{RGI_Emoji}`, the set of emoji the Unicode
// standard recommends for interchange, kept current with the runtime's ICU) rather than a hand-written range.
import type { EmoteCount, RoomMinuteRecord } from '../store/index.ts';

/** A sentiment score for one chat message (e.g. AFINN's comparative score), or null when it has none. */
export type SentimentScorer = (text: string) => number | null;

export const TOP_EMOTES = 5;

// Built at run time: the `v` flag (needed for RGI_Emoji, a property of strings) is newer than the compile target.
const EMOJI_FLAGS: string = 'gv';
const EMOJI = new RegExp('\\p{RGI_Emoji}', EMOJI_FLAGS);
/** Slack/Discord/Twitch style `:name:` codes. */
const SHORTCODE = /:[a-z0-9_+-]{2,32}:/gi;

/** The emotes in a message, in order, each as often as it occurs (shortcodes lower-cased). */
export function emotesIn(text: string): string[] {
  const found: Array<[number, string]> = [];
  for (const m of text.matchAll(EMOJI)) found.push([m.index, m[0]]);
  for (const m of text.matchAll(SHORTCODE)) found.push([m.index, m[0].toLowerCase()]);
  return found.sort((a, b) => a[0] - b[0]).map(([, e]) => e);
}

/** The most used emotes, most first (ties by name), at most `n`. */
export function topEmotes(counts: Map<string, number>, n = TOP_EMOTES): EmoteCount[] {
  return [...counts]
    .map(([emote, count]) => ({ emote, count }))
    .sort((a, b) => b.count - a.count || a.emote.localeCompare(b.emote))
    .slice(0, n);
}

/** The tally of one minute, fed as it happens and turned into a row when the minute is over. */
export class MinuteTally {
  viewers = 0;
  messages = 0;
  private readonly chatters = new Set<string>();
  private readonly emotes = new Map<string, number>();
  private sentimentSum = 0;
  private sentimentN = 0;

  constructor(readonly minute: number) {}

  seeViewers(connected: number): void {
    if (connected > this.viewers) this.viewers = connected;
  }

  addChat(memberId: string, text: string, score: number | null): void {
    this.messages++;
    this.chatters.add(memberId);
    for (const e of emotesIn(text)) this.emotes.set(e, (this.emotes.get(e) ?? 0) + 1);
    if (score !== null && Number.isFinite(score)) {
      this.sentimentSum += score;
      this.sentimentN++;
    }
  }

  /** Nothing worth a row: nobody connected and nobody chatted. */
  get empty(): boolean {
    return this.viewers === 0 && this.messages === 0;
  }

  row(roomId: string, appId: string): RoomMinuteRecord {
    return {
      roomId,
      appId,
      minute: this.minute,
      viewers: this.viewers,
      messages: this.messages,
      uniqueChatters: this.chatters.size,
      topEmotes: topEmotes(this.emotes),
      sentiment: this.sentimentN === 0 ? null : this.sentimentSum / this.sentimentN,
      sentimentN: this.sentimentN,
    };
  }
}
