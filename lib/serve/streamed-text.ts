/**
 * One choice's text as its tokens arrive, for a stream: the pieces it gives add up to the text the whole answer has
 * (the sample's text cut before its first stop string, as a response without streaming gets it), and a piece once
 * given is never taken back.
 *
 * Each token decodes the whole prefix again, so a character or word made of several tokens comes out as the
 * tokenizer's decoder makes it; only what cannot change any more is given: not a trailing U+FFFD (a UTF-8
 * character whose bytes have not all arrived; decoded again, it becomes the character), not text from the first stop
 * string on, and not a tail that could still be the start of a stop string (held back until it is one, or cannot be).
 * The decoders of the models served (byte-level BPE, SentencePiece's metaspace and byte fallback) extend the text
 * of a prefix without changing it, so what was given is always the start of the answer.
 */
import { responseText, trimAtStop, type Tokenizer } from '../index';

export class StreamedText {
  readonly #tokens: number[] = [];
  readonly #longestStop: number;
  #sent = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly stops: readonly string[],
  ) {
    this.#longestStop = Math.max(0, ...stops.map((stop) => stop.length));
  }

  /** Adds the next token; returns the text that can be sent now ('' when none). */
  push(token: number): string {
    this.#tokens.push(token);
    const decoded = responseText(this.tokenizer, Int32Array.from(this.#tokens)).replace(/\uFFFD+$/, '');
    const { text } = trimAtStop(decoded, this.stops);
    const settled = text.slice(0, this.#stopStart(text));
    if (settled.length <= this.#sent.length || !settled.startsWith(this.#sent)) return '';
    const piece = settled.slice(this.#sent.length);
    this.#sent = settled;
    return piece;
  }

  /** What is left to send of the whole answer's text, `answer`, once the sample has finished. */
  finish(answer: string): string {
    return answer.slice(this.#sent.length);
  }

  /** Where the tail of `text` that a stop string begins with starts (text.length when there is none). */
  #stopStart(text: string): number {
    for (let start = Math.max(0, text.length - this.#longestStop + 1); start < text.length; start++) {
      const tail = text.slice(start);
      if (this.stops.some((stop) => stop.startsWith(tail))) return start;
    }
    return text.length;
  }
}
