// The chat mood scorer: AFINN-165 word scores (the `sentiment` package), averaged per word ("comparative"), so a
// long message does not outweigh a short one. A message without a scored word has no mood: null, not 0, so
// chat without scored words or emoji does not pull a room's mean towards neutral.
import Sentiment from 'sentiment';
import type { SentimentScorer } from './chat-stats.ts';

export function afinnScorer(): SentimentScorer {
  const analyzer = new Sentiment();
  return (text) => {
    const r = analyzer.analyze(text);
    return r.calculation.length === 0 ? null : r.comparative;
  };
}
