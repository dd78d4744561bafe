/**
 * Seeded randomness for the Genius loop. Every random choice (a native sampling call, a re-sampling draw, a
 * rejected pair) gets its own seed derived from the run's seed and what the choice is about (the query, the
 * step, the phase), so that a run repeats exactly and a resumed run draws what the uninterrupted one drew.
 */

/** A uniform draw in [0, 1). */
export type Random = () => number;

/** cyrb53: a fast 53-bit string hash with good avalanche; enough to decorrelate neighbouring seeds. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A seed in [0, 2^53) for the choice named by `parts` (the native sampler accepts up to 2^53 − 1). */
export function deriveSeed(...parts: (string | number)[]): number {
  return hash53(JSON.stringify(parts));
}

/** A random stream (mulberry32) for the choice named by `parts`. */
export function seededRandom(...parts: (string | number)[]): Random {
  return mulberry32(deriveSeed(...parts));
}

/** mulberry32: a small, fast 32-bit seeded generator of numbers in [0, 1). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
