/** What the sampling tests share: seeded logits, and the check that draws follow a distribution. */

/** Seeded logits with a realistic spread: a few large entries over a long tail. */
export function randomLogits(rows: number, vocab: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: rows * vocab }, () => 4 * Math.log(next() + 1e-9) + 8 * next());
}

/** How many times each of `vocab` tokens was drawn. */
export function countDraws(tokens: Iterable<number | bigint>, vocab: number): number[] {
  const counts = new Array<number>(vocab).fill(0);
  for (const token of tokens) counts[Number(token)]++;
  return counts;
}

/**
 * Asserts that the draws `counts` come from `probabilities` (summing to 1): no token of probability 0 is drawn, and
 * Pearson's chi-square is below its 99.9th percentile (k + 3.1·sqrt(2k) + 10 bounds it for these k). Tokens expected
 * fewer than 5 times are pooled into one bin so that the approximation holds (left out if even the pool is).
 */
export function expectDrawnFrom(counts: readonly number[], probabilities: readonly number[]): void {
  const draws = counts.reduce((a, b) => a + b, 0);
  const impossible = counts.flatMap((count, token) => (count > 0 && probabilities[token] === 0 ? [token] : []));
  expect(impossible).toEqual([]);
  let chi = 0;
  let bins = 0;
  let pooledExpected = 0;
  let pooledObserved = 0;
  probabilities.forEach((probability, token) => {
    const expected = probability * draws;
    if (expected >= 5) {
      chi += (counts[token] - expected) ** 2 / expected;
      bins++;
    } else {
      pooledExpected += expected;
      pooledObserved += counts[token];
    }
  });
  if (pooledExpected >= 5) {
    chi += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    bins++;
  }
  expect(bins).toBeGreaterThan(1);
  expect(chi).toBeLessThan(bins - 1 + 3.1 * Math.sqrt(2 * (bins - 1)) + 10);
}
