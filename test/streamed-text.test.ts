/**
 * A streamed choice's text (lib/serve/streamed-text.ts): pieces that add up to the whole answer, a UTF-8 character
 * split over byte tokens never sent in halves, text that could start a stop string held back until it cannot.
 */
import { EMBEDDED_MODEL_DIR, Tokenizer, trimAtStop } from '../lib';
import { StreamedText } from '../lib/serve/streamed-text';

let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await Tokenizer.fromDir(EMBEDDED_MODEL_DIR);
});

/** The pieces `text`'s tokens give one at a time, and the rest the finished answer adds. */
function stream(text: string, stops: string[]): string[] {
  const streamed = new StreamedText(tokenizer, stops);
  const pieces = tokenizer.encode(text, { addSpecialTokens: false }).map((token) => streamed.push(token));
  return [...pieces, streamed.finish(trimAtStop(text, stops).text)];
}

describe('StreamedText', () => {
  const text = 'Tom é€ 😀 had 3.\nThe answer is 3.';

  it('sends whole characters only, token by token, adding up to the answer', () => {
    // The byte-level tokenizer splits é, € and 😀 into byte tokens.
    expect(tokenizer.encode(text, { addSpecialTokens: false }).length).toBeGreaterThan(text.length / 2);
    const pieces = stream(text, []);
    for (const piece of pieces) expect(piece).not.toMatch(/\uFFFD/);
    expect(pieces.filter((piece) => piece !== '').length).toBeGreaterThan(8);
    expect(pieces.join('')).toBe(text);
  });

  it('stops at the first stop string, and holds back what could still start one', () => {
    for (const stops of [['\n'], ['answer'], ['3.\nX', 'is'], ['😀'], ['€ 😀 hax'], ['3.']]) {
      const pieces = stream(text, stops);
      expect(pieces.join('')).toBe(trimAtStop(text, stops).text);
      // What was sent before the end never runs into a stop string or the start of one.
      const sent = pieces.slice(0, -1).join('');
      for (const stop of stops) {
        for (let length = 1; length <= stop.length; length++) expect(sent.endsWith(stop.slice(0, length))).toBe(false);
      }
    }
  });
});
