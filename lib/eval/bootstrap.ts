/**
 * How sure is a gain in accuracy? A paired bootstrap over the problems: both evaluations are of the same problems,
 * so the problems are resampled (with replacement) and each resample's gain is after − before on the same draw.
 * The interval is the percentile interval of those gains (Efron & Tibshirani 1993, ch. 13).
 */
import { invalidArgument } from '../errors';
import { seededRandom } from '../genius/random';

export interface GainInterval {
  /** After − before, as a share of the problems (0.05 is 5 points). */
  gain: number;
  /** The interval's bounds, same unit. */
  low: number;
  high: number;
  /** Its coverage, e.g. 0.95. */
  level: number;
  problems: number;
}

export interface BootstrapOptions {
  /** Default 10,000. */
  resamples?: number;
  /** Default 0.95. */
  level?: number;
  /** Seeds the resampling, so that a report repeats. Default 0. */
  seed?: number;
}

/** The gain of `after` over `before` (right or wrong per problem, in the same order) with its bootstrap interval. */
export function pairedBootstrap(
  before: readonly boolean[],
  after: readonly boolean[],
  options: BootstrapOptions = {},
): GainInterval {
  for (const [name, results] of [
    ['before', before],
    ['after', after],
  ] as const) {
    if (!Array.isArray(results) || !results.every((result) => typeof result === 'boolean')) {
      invalidArgument(name, 'an array of booleans (each problem: correct or not)');
    }
  }
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
  const { resamples = 10_000, level = 0.95, seed = 0 } = options;
  if (before.length !== after.length || before.length === 0) {
    invalidArgument('after', `as many results as before (${before.length}), at least one`);
  }
  if (!Number.isInteger(resamples) || resamples < 1) invalidArgument('resamples', 'a positive integer');
  if (!(level > 0 && level < 1)) invalidArgument('level', 'in (0, 1)');
  const n = before.length;
  // Per problem: +1 fixed, −1 broken, 0 unchanged; the gain is their mean.
  const differences = before.map((right, index) => Number(after[index]) - Number(right));
  const mean = (draw: () => number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) total += differences[draw()];
    return total / n;
  };
  const random = seededRandom(seed, 'bootstrap');
  const gains = Array.from({ length: resamples }, () => mean(() => Math.floor(random() * n))).sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  const at = (quantile: number): number =>
    gains[Math.min(resamples - 1, Math.max(0, Math.floor(quantile * resamples)))];
  const gain = differences.reduce((sum, difference) => sum + difference, 0) / n;
  return { gain, low: at(tail), high: at(1 - tail), level, problems: n };
}
