/**
 * The paired bootstrap interval of a gain in accuracy, against what it must be: the observed gain, an interval
 * around it whose width matches the normal approximation of a mean of per-problem differences, and repeatability.
 */
import { pairedBootstrap } from '../lib';

describe('pairedBootstrap', () => {
  // 500 problems: 40 fixed, 15 broken, the rest unchanged: gain 25 / 500 = 5 points.
  const before = Array.from({ length: 500 }, (_, i) => i >= 40 && i < 300);
  const after = before.map((right, i) => (i < 40 ? true : i < 55 ? false : right));

  it('gives the observed gain with an interval as wide as the normal approximation says', () => {
    const result = pairedBootstrap(before, after, { seed: 1 });
    expect(result.gain).toBeCloseTo(0.05, 12);
    expect(result.problems).toBe(500);
    // Per-problem differences: 40 × +1, 15 × −1, 445 × 0; sd of their mean = sqrt((55/500 − 0.05²) / 500).
    const se = Math.sqrt((55 / 500 - 0.05 ** 2) / 500);
    expect(result.low).toBeCloseTo(0.05 - 1.96 * se, 2);
    expect(result.high).toBeCloseTo(0.05 + 1.96 * se, 2);
    expect(pairedBootstrap(before, after, { seed: 1 })).toEqual(result);
  });

  it('collapses to the gain when nothing changes, and refuses unpaired results', () => {
    expect(pairedBootstrap(before, before)).toMatchObject({ gain: 0, low: 0, high: 0 });
    expect(() => pairedBootstrap(before, after.slice(1))).toThrow(/after/);
    expect(() => pairedBootstrap([], [])).toThrow(/after/);
  });
});
