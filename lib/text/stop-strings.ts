/**
 * Stop strings: a per-token mask that lets the native rollout stop a sequence the moment it samples a
 * token whose text holds a stop string, and the cut of the finished text at the first stop.
 *
 * The mask looks at one token at a time, through `Tokenizer.tokenText` (the text a token adds mid-text).
 * A token holding part of a UTF-8 character decodes with U+FFFD for its incomplete bytes, so it matches
 * a stop only through its complete characters: a byte token '\n' + first byte of 'é' still stops at '\n'.
 * A stop that only appears across several tokens (a multi-token word, or a multi-byte character split
 * into byte tokens) is not in the mask; `trimAtStop` finds it in the decoded text afterwards.
 */
import { invalidArgument } from '../errors';
import { Tokenizer } from './tokenizer';

const REPLACEMENT_CHARACTER = '\uFFFD';

function checkStops(stops: readonly string[]): void {
  if (!Array.isArray(stops)) invalidArgument('stops', 'an array of strings');
  stops.forEach((stop, index) => {
    if (typeof stop !== 'string' || stop === '') invalidArgument(`stops[${index}]`, 'a non-empty string');
    // U+FFFD stands for the bytes of every partial character, so such a stop would match unrelated tokens.
    if (stop.includes(REPLACEMENT_CHARACTER)) invalidArgument(`stops[${index}]`, 'a string without U+FFFD');
  });
}

/**
 * 1 for each token id whose text contains any of `stops`, else 0. `length` (default the tokenizer's
 * vocabSize) may be larger, as a model's embedding often is; ids past the tokenizer's vocabulary are 0.
 */
export function stopStringMask(tokenizer: Tokenizer, stops: readonly string[], length?: number): Uint8Array {
  Tokenizer.check(tokenizer);
  checkStops(stops);
  length ??= tokenizer.vocabSize;
  if (!Number.isInteger(length) || length < tokenizer.vocabSize) {
    invalidArgument('length', `an integer >= the tokenizer's vocabSize ${tokenizer.vocabSize} (got ${String(length)})`);
  }
  const mask = new Uint8Array(length);
  if (stops.length === 0) return mask;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const text = tokenizer.tokenText(id);
    if (stops.some((stop) => text.includes(stop))) mask[id] = 1;
  }
  return mask;
}

/**
 * `text` cut before the earliest stop string (the stop itself is dropped) and the stop found there, or
 * the whole text and null. When stops begin at the same place, the longest one is reported.
 */
export function trimAtStop(text: string, stops: readonly string[]): { text: string; stopped: string | null } {
  if (typeof text !== 'string') invalidArgument('text', 'a string');
  checkStops(stops);
  let cut = text.length;
  let stopped: string | null = null;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at < 0) continue;
    if (at < cut || (at === cut && stop.length > (stopped?.length ?? 0))) {
      cut = at;
      stopped = stop;
    }
  }
  return { text: text.slice(0, cut), stopped };
}
