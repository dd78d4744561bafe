/**
 * When the two sides of a benchmark agree. Both run the same kernels (libtorch is the wheel's), so in float32
 * they differ only by the order of additions (batched against unbatched, chunked against whole); in bfloat16 or
 * float16 rounding is coarser and the limits are looser. A wrong implementation misses them by far.
 */
import type { Check } from './results';

export interface Tolerances {
  /** Largest |logit difference|, relative to max(1, largest |logit|). */
  logits: number;
  /** Largest |loss difference|, relative to max(1, |loss|). */
  loss: number;
  /** Largest relative difference of gradient norms. */
  gradNorm: number;
  /** Smallest share of greedy tokens agreeing (up to each prompt's first divergence). */
  greedy: number;
  /** Largest |token log-prob difference| of the log-prob stage (always float32). */
  logprobs: number;
}

const FLOAT32: Tolerances = { logits: 1e-3, loss: 1e-3, gradNorm: 1e-2, greedy: 0.9, logprobs: 1e-3 };
const HALF: Tolerances = { logits: 5e-2, loss: 5e-2, gradNorm: 1e-1, greedy: 0.5, logprobs: 1e-3 };

export function tolerancesFor(dtype: string): Tolerances {
  return dtype === 'float32' ? FLOAT32 : HALF;
}

export function atMost(name: string, value: number, limit: number): Check {
  return { name, value, limit, kind: 'max', holds: value <= limit };
}

export function atLeast(name: string, value: number, limit: number): Check {
  return { name, value, limit, kind: 'min', holds: value >= limit };
}

/** |a − b| / max(1, |b|): a difference that is absolute near 0 and relative away from it. */
export function scaledDifference(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1, Math.abs(b));
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}

/** The share of greedy tokens that agree, counting each prompt's tokens up to its first divergence. */
export function greedyAgreement(ours: readonly number[][], reference: readonly number[][], tokens: number): number {
  if (ours.length !== reference.length || ours.length === 0) return 0;
  let agreeing = 0;
  ours.forEach((sequence, i) => {
    let same = 0;
    while (same < tokens && sequence[same] !== undefined && sequence[same] === reference[i][same]) same++;
    agreeing += same;
  });
  return agreeing / (ours.length * tokens);
}
