/**
 * Final answers of reasoning responses and of ground truths: where the answer is (extractAnswer, truthAnswer), its
 * canonical text (normalizeAnswer) and when two answers agree (answersMatch). Numbers compare by value, so 1,000,
 * 1000.0 and \frac{2000}{2} all match 1000.
 */

import { invalidArgument } from '../errors';

/** The content of the last complete `\boxed{…}` (or `\fbox{…}`, which a few MATH solutions use; braces may nest). */
function lastBoxed(text: string): string | undefined {
  for (const box of [...text.matchAll(/\\(?:boxed|fbox) *\{/g)].reverse()) {
    const open = box.index + box[0].length - 1;
    let depth = 0;
    for (let index = open; index < text.length; index++) {
      if (text[index] === '{') depth++;
      else if (text[index] === '}' && --depth === 0) return text.slice(open + 1, index);
    }
  }
  return undefined;
}

const NUMBER = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\/\d+)?/g;

/** The text after the last `marker` (case-insensitive), to the end of its line; undefined without one. */
function afterLast(text: string, marker: string): string | undefined {
  const at = text.toLowerCase().lastIndexOf(marker.toLowerCase());
  if (at < 0) return undefined;
  return text.slice(at + marker.length).split('\n')[0];
}

/**
 * The answer a text marks as final, tried in this order: the last `\boxed{…}` (MATH's solutions); the text after
 * the last "####" (GSM8K's); after the last "The answer is" (its leading number when it starts with one, as in
 * "72 clips."). Undefined when there is none.
 */
function markedAnswer(text: string): string | undefined {
  const boxed = lastBoxed(text);
  if (boxed !== undefined) return boxed.trim();
  const hashes = afterLast(text, '####');
  if (hashes !== undefined && hashes.trim() !== '') return hashes.trim();
  const stated = afterLast(text, 'the answer is')?.replace(/^\s*:?\s*/, '');
  if (stated !== undefined) {
    const boxedNumber = lastBoxed(stated);
    if (boxedNumber !== undefined) return boxedNumber.trim();
    const leading = /^\$?\s*(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\/\d+)?)(?![\d\w{])/.exec(stated);
    if (leading) return leading[1];
    const phrase = stated.trim().replace(/\.$/, '').trim();
    if (phrase !== '') return phrase;
  }
  return undefined;
}

/** The final answer of a response: the answer it marks as final (markedAnswer), else its last number. */
export function extractAnswer(text: string): string | undefined {
  if (typeof text !== 'string') invalidArgument('text', 'a string');
  return markedAnswer(text) ?? text.match(NUMBER)?.at(-1);
}

/**
 * The answer of a ground truth: a worked solution's marked answer (MATH's `\boxed{…}`, GSM8K's `#### 42`); else,
 * for one line, the whole of it: the bare answer that sets such as MATH-500 keep in an `answer` field, whose last
 * number is no answer (`\frac{14}{3}`, `(3, \frac{\pi}{2})`); else the solution's last number.
 */
export function truthAnswer(text: string): string | undefined {
  if (typeof text !== 'string') invalidArgument('text', 'a string');
  const bare = text.trim();
  return markedAnswer(text) ?? (bare !== '' && !bare.includes('\n') ? bare : text.match(NUMBER)?.at(-1));
}

/** The canonical text of an answer: LaTeX wrappers, units of money and percent, spaces and thousands commas gone. */
export function normalizeAnswer(answer: string): string {
  if (typeof answer !== 'string') invalidArgument('answer', 'a string');
  let text = answer.trim();
  text = text.replace(/\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}/g, '$1');
  text = text.replace(/\\[dt]frac/g, '\\frac');
  text = text.replace(/\\left|\\right|\\!|\\,|\\;|\\ /g, '');
  text = text.replace(/\^\{?\\circ\}?|\\%|%|\\\$|\$/g, '');
  text = text.replace(/(\d),(?=\d{3}(?!\d))/g, '$1');
  text = text.replace(/\s+/g, '');
  text = text.replace(/\.$/, '');
  // A choice such as "(B)" is the letter.
  text = text.replace(/^\(([A-Za-z])\)$/, '$1');
  return text.toLowerCase();
}

/** The value of a normalised numeric answer (an integer, decimal, a/b or \frac{a}{b}), or undefined. */
export function numericValue(normalized: string): number | undefined {
  let match = /^(-?\d+(?:\.\d+)?)$/.exec(normalized);
  if (match) return Number(match[1]);
  match = /^(-?)(?:(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)|\\frac\{(\d+(?:\.\d+)?)\}\{(\d+(?:\.\d+)?)\}|\\frac(\d)(\d))$/.exec(
    normalized,
  );
  if (!match) return undefined;
  const [numerator, denominator] = [match[2] ?? match[4] ?? match[6], match[3] ?? match[5] ?? match[7]].map(Number);
  if (denominator === 0) return undefined;
  return (match[1] === '-' ? -1 : 1) * (numerator / denominator);
}

/** Whether two answers agree: as numbers within a relative 1e-6 when both are numbers, else as normalised text. */
export function answersMatch(predicted: string | undefined, truth: string | undefined): boolean {
  for (const [name, value] of [
    ['predicted', predicted],
    ['truth', truth],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') invalidArgument(name, 'a string or undefined');
  }
  if (predicted === undefined || truth === undefined) return false;
  const [a, b] = [normalizeAnswer(predicted), normalizeAnswer(truth)];
  const [x, y] = [numericValue(a), numericValue(b)];
  if (x !== undefined && y !== undefined) return Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));
  return a === b;
}
