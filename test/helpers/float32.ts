/**
 * Comparing float32 results: their resolution is relative (2^-23 of the value's magnitude), so a tolerance is too.
 * An absolute one such as toBeCloseTo(x, 6) is below float32's spacing once |x| passes 4, and fails on the last
 * bit of a sum reduced in another order.
 */

/** The spacing of float32 values at 1 (machine epsilon). */
export const FLOAT32_EPSILON = 2 ** -23;

/**
 * Asserts that float32 results `actual` and `expected` agree within `epsilons` float32 epsilons of their
 * magnitude (at least 1: losses and rewards are O(1) differences of larger terms, whose rounding does not shrink
 * with the result). The default of 64 allows a reduction over hundreds of terms in a different order.
 */
export function expectFloat32Close(actual: number, expected: number, epsilons = 64): void {
  const magnitude = Math.max(1, Math.abs(actual), Math.abs(expected));
  const tolerance = epsilons * FLOAT32_EPSILON * magnitude;
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`expected ${actual} to be within ${tolerance} (${epsilons} float32 epsilons) of ${expected}`);
  }
}
