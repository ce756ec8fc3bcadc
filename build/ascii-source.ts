// Rewrites a bundled script so every character is ASCII (\uXXXX escapes). V8 keeps each script's source text in
// memory for as long as it runs, one byte per character only when no character is beyond Latin-1: the three
// non-ASCII characters esbuild leaves in the server bundle (an arrow in two comments, a regex range) made its
// 2 MB source take 4 MB of heap in every m3w process. Escapes mean the same in strings, regexes and comments.
import { readFileSync, writeFileSync } from 'node:fs';

export function asciiOnly(file: string): void {
  const source = readFileSync(file, 'utf8');
  // Code units, so a character outside the BMP becomes its two surrogate escapes, as in a JS string literal.
  const ascii = source.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== source) writeFileSync(file, ascii);
}
