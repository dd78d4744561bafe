/**
 * The learning-rate schedule and the order of the data: transformers' linear schedule with warm-up, and a
 * seeded shuffle per epoch. Both are pure functions of (settings, step), so that a resumed run takes exactly
 * the steps the uninterrupted one would have: the step number is all the schedule and sampler state there is.
 */
import { invalidArgument } from '../errors';

/**
 * get_linear_schedule_with_warmup: the rate of optimizer step `step` (0-based) rises linearly from 0 over
 * `warmupSteps`, then falls linearly to 0 at `totalSteps`.
 */
export function linearWarmupRate(baseRate: number, step: number, totalSteps: number, warmupSteps: number): number {
  if (step < warmupSteps) return (baseRate * step) / Math.max(1, warmupSteps);
  return baseRate * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/** Warm-up steps for a ratio, truncated as the reference's int(total × ratio) is. */
export function warmupSteps(totalSteps: number, ratio: number): number {
  return Math.floor(totalSteps * ratio);
}

export interface StepPlan {
  /** Examples per optimizer step (the last step of an epoch may take fewer). */
  batchSize: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

/** Steps for `examples` examples in batches of `batchSize`: `epochs` passes, or exactly `steps` when given. */
export function planSteps(examples: number, batchSize: number, epochs: number, steps?: number): StepPlan {
  if (!Number.isInteger(batchSize) || batchSize < 1) invalidArgument('batchSize', 'a positive integer');
  const stepsPerEpoch = Math.ceil(examples / batchSize);
  if (steps !== undefined) {
    if (!Number.isInteger(steps) || steps < 1) invalidArgument('steps', 'a positive integer');
    return { batchSize, stepsPerEpoch, totalSteps: steps };
  }
  if (!Number.isInteger(epochs) || epochs < 1) invalidArgument('epochs', 'a positive integer');
  return { batchSize, stepsPerEpoch, totalSteps: epochs * stepsPerEpoch };
}

/** splitmix32: a small, well-mixed PRNG; the same seed gives the same stream on every platform. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

/** The order of the examples in `epoch`: a Fisher–Yates shuffle drawn from (seed, epoch). */
export function epochOrder(examples: number, seed: number, epoch: number): number[] {
  const random = splitmix32(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77));
  const order = Array.from({ length: examples }, (_, i) => i);
  for (let i = examples - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
