// Progress of a long CLI job: on a terminal one line redrawn in place (a bar, counts, rate), at most ten times a
// second; otherwise (a pipe, a log file, systemd) plain lines, one per tenth of the work and one at the end.
import type { Writable } from 'node:stream';

export interface ProgressBar {
  /** `done` of `total` units of the named step. */
  update(label: string, done: number, total: number): void;
  /** Ends the step's line. */
  finish(label: string, done: number, total: number): void;
}

const WIDTH = 24;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function progressBar(out: Writable & { isTTY?: boolean }, unit = 'rows'): ProgressBar {
  const tty = out.isTTY === true;
  let shownAt = 0;
  let lastTenth = new Map<string, number>();
  let stepStarted = new Map<string, { at: number; done: number }>();
  const rate = (label: string, done: number) => {
    const s = stepStarted.get(label);
    if (!s) return 0;
    const seconds = (performance.now() - s.at) / 1000;
    return seconds > 0 ? (done - s.done) / seconds : 0;
  };
  const line = (label: string, done: number, total: number) => {
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(share * WIDTH);
    const r = rate(label, done);
    return `${label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${fmt(done)}/${fmt(total)} ${unit}${r > 0 ? `  ${fmt(r)} ${unit}/s` : ''}`;
  };
  const start = (label: string, done: number) => {
    if (!stepStarted.has(label)) stepStarted.set(label, { at: performance.now(), done });
  };
  return {
    update(label, done, total) {
      start(label, done);
      if (tty) {
        const now = performance.now();
        if (now - shownAt < 100) return;
        shownAt = now;
        out.write(`\r${line(label, done, total)}\u001b[K`);
        return;
      }
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth > (lastTenth.get(label) ?? 0) && tenth < 10) {
        lastTenth.set(label, tenth);
        out.write(`${line(label, done, total)}\n`);
      }
    },
    finish(label, done, total) {
      start(label, done);
      out.write(`${tty ? '\r' : ''}${line(label, done, total)}${tty ? '\u001b[K' : ''}\n`);
      lastTenth = new Map([...lastTenth].filter(([k]) => k !== label));
      stepStarted = new Map([...stepStarted].filter(([k]) => k !== label));
    },
  };
}
