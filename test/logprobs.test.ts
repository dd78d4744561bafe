import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ErrorCode, Tensor } from '../lib';
import { liveTensors, reduceTokenLogprobs, sequenceLogprobs, sequenceLogprobsWithGrad } from '../lib/testing';
import { native } from '../lib/native';
import { mulberry32 as seededRandom } from '../lib/genius/random';
import { runReference } from './helpers/python';

const numbers = (tensor: Tensor): number[] => Array.from(tensor.toArray() as Float64Array);
const rows = (values: number[], width: number): number[][] =>
  Array.from({ length: values.length / width }, (_, i) => values.slice(i * width, (i + 1) * width));

/** Every index where |actual − expected| > tolerance·max(1, |expected|), described, so a failure says where. */
function mismatches(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): string[] {
  if (actual.length !== expected.length) return [`${what}: ${actual.length} values, expected ${expected.length}`];
  const found: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      found.push(`${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
    }
  }
  return found;
}

// N positions, hidden size H, vocabulary V: V prime so that no vocabulary block divides it evenly.
const N = 11;
const H = 6;
const V = 37;

interface Problem {
  hidden: number[];
  weight: number[];
  targets: number[];
  gradOutput: number[];
}

function randomProblem(seed: number): Problem {
  const random = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return {
    hidden: Array.from({ length: N * H }, () => 2 * normal()),
    weight: Array.from({ length: V * H }, () => normal()),
    targets: Array.from({ length: N }, () => Math.floor(random() * V)),
    gradOutput: Array.from({ length: N }, () => 0.5 + random()),
  };
}

interface Reference {
  logprobs: number[];
  gradHidden: number[][];
  gradWeight: number[][];
}

function reference(problem: Problem): Reference {
  return runReference<Reference>('logprobs_reference.py', {
    hidden: rows(problem.hidden, H),
    weight: rows(problem.weight, H),
    targets: problem.targets,
    gradOutput: problem.gradOutput,
  });
}

function tensors(problem: Problem, dtype: 'float64' | 'float32' | 'bfloat16') {
  return {
    hidden: Tensor.from(problem.hidden, [N, H], { dtype }),
    weight: Tensor.from(problem.weight, [V, H], { dtype }),
    targets: Tensor.from(problem.targets, [N], { dtype: 'int64' }),
    gradOutput: Tensor.from(problem.gradOutput, [N], { dtype: 'float64' }),
    [Symbol.dispose]() {
      [this.hidden, this.weight, this.targets, this.gradOutput].forEach((tensor) => tensor.dispose());
    },
  };
}

describe('chunked log-probs equal log_softmax-gather over the full logits (Python torch)', () => {
  const problem = randomProblem(42);
  const expected = reference(problem);
  // Row chunks of 1, 7 (uneven) and N; vocabulary unchunked (the default block holds V) or in blocks of
  // 8 and 1, so that the online logsumexp and the target's block lookup are exercised.
  const cases = [1, 7, N].flatMap((chunk) => [undefined, 8, 1].map((vocabChunk) => [chunk, vocabChunk] as const));

  it.each(cases)('float64, chunk %p, vocabChunk %p: values and dh, dW to 1e-8', async (chunk, vocabChunk) => {
    using inputs = tensors(problem, 'float64');
    using logprobs = await sequenceLogprobs(inputs.hidden, inputs.weight, inputs.targets, chunk, { vocabChunk });
    using withGrad = await sequenceLogprobsWithGrad(inputs.hidden, inputs.weight, inputs.targets, chunk, {
      vocabChunk,
      gradOutput: inputs.gradOutput,
    });
    expect(logprobs.dtype).toBe('float64');
    expect(withGrad.gradHidden.shape).toEqual([N, H]);
    expect(withGrad.gradWeight.shape).toEqual([V, H]);
    expect([
      ...mismatches('logprobs', numbers(logprobs), expected.logprobs, 1e-8),
      ...mismatches('logprobs (with grad)', numbers(withGrad.logprobs), expected.logprobs, 1e-8),
      ...mismatches('dh', numbers(withGrad.gradHidden), expected.gradHidden.flat(), 1e-8),
      ...mismatches('dW', numbers(withGrad.gradWeight), expected.gradWeight.flat(), 1e-8),
    ]).toEqual([]);
  });

  it('float64, softmax kept from the forward (keptLogits): values and dh, dW to 1e-8', async () => {
    using inputs = tensors(problem, 'float64');
    using withGrad = await sequenceLogprobsWithGrad(inputs.hidden, inputs.weight, inputs.targets, 3, {
      vocabChunk: 8,
      keptLogits: N * V,
      gradOutput: inputs.gradOutput,
    });
    expect([
      ...mismatches('logprobs', numbers(withGrad.logprobs), expected.logprobs, 1e-8),
      ...mismatches('dh', numbers(withGrad.gradHidden), expected.gradHidden.flat(), 1e-8),
      ...mismatches('dW', numbers(withGrad.gradWeight), expected.gradWeight.flat(), 1e-8),
    ]).toEqual([]);
  });

  it('float32 inputs give float32 log-probs and gradients close to the float64 reference', async () => {
    using inputs = tensors(problem, 'float32');
    using withGrad = await sequenceLogprobsWithGrad(inputs.hidden, inputs.weight, inputs.targets, 4, {
      vocabChunk: 10,
      gradOutput: inputs.gradOutput,
    });
    expect([withGrad.logprobs.dtype, withGrad.gradHidden.dtype, withGrad.gradWeight.dtype]).toEqual([
      'float32',
      'float32',
      'float32',
    ]);
    expect([
      ...mismatches('logprobs', numbers(withGrad.logprobs), expected.logprobs, 1e-5),
      ...mismatches('dh', numbers(withGrad.gradHidden), expected.gradHidden.flat(), 1e-5),
      ...mismatches('dW', numbers(withGrad.gradWeight), expected.gradWeight.flat(), 1e-5),
    ]).toEqual([]);
  });

  it('bfloat16 inputs reduce in float32 and return gradients in bfloat16', async () => {
    using inputs = tensors(problem, 'bfloat16');
    // The reference of the bfloat16-rounded inputs: what is left is the rounding of the logits themselves.
    const rounded = reference({ ...problem, hidden: numbers(inputs.hidden), weight: numbers(inputs.weight) });
    using withGrad = await sequenceLogprobsWithGrad(inputs.hidden, inputs.weight, inputs.targets, 3, {
      vocabChunk: 16,
    });
    expect([withGrad.logprobs.dtype, withGrad.gradHidden.dtype, withGrad.gradWeight.dtype]).toEqual([
      'float32',
      'bfloat16',
      'bfloat16',
    ]);
    expect(mismatches('logprobs', numbers(withGrad.logprobs), rounded.logprobs, 0.1)).toEqual([]);
  });
});

describe('explicit backward against central differences (float64, native)', () => {
  const problem = randomProblem(9);
  it.each([
    [1, V],
    [3, 4],
    [N, 5],
    [4, 1],
  ])('chunk %p, vocabChunk %p', (chunk, vocabChunk) => {
    using inputs = tensors(problem, 'float64');
    const check = native().testing.sequenceLogprobsGradientError(
      Tensor.handleOf(inputs.hidden, 'hidden'),
      Tensor.handleOf(inputs.weight, 'weight'),
      Tensor.handleOf(inputs.targets, 'targets'),
      chunk,
      { vocabChunk },
    );
    expect(check.maxNumericGradient).toBeGreaterThan(0.1);
    expect(check.maxAbsoluteError).toBeLessThan(1e-6);
  });
});

it('keeps extra memory to the chunk, not N × V', () => {
  // In a fresh process, so that the peak resident size is this call's: N × V float32 logits would be
  // 256 MB (and their softmax as much again in backward); 64-row chunks of 4096-column blocks are 1 MB.
  const addon = process.env.GENIUS_NATIVE_ADDON ?? path.join(__dirname, '..', 'build', 'Release', 'genius-native.node');
  const script = `
    const addon = require(${JSON.stringify(path.resolve(addon))});
    const [n, h, v] = [4096, 16, 16384];
    const fill = (count, scale) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37) * scale);
    const hidden = addon.tensorFromData(fill(n * h, 1), [n, h], 'float32', 'cpu');
    const weight = addon.tensorFromData(fill(v * h, 0.5), [v, h], 'float32', 'cpu');
    const targets = addon.tensorFromData(Int32Array.from({ length: n }, (_, i) => (i * 7919) % v), [n], 'int32', 'cpu');
    const before = process.resourceUsage().maxRSS;
    addon.sequenceLogprobsWithGrad(hidden, weight, targets, 64, { vocabChunk: 4096 }).then((result) => {
      const logprobs = result.logprobs.toArray();
      console.log(JSON.stringify({ growthKb: process.resourceUsage().maxRSS - before, finite: logprobs.every(Number.isFinite) }));
    });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  const { growthKb, finite } = JSON.parse(run.stdout) as { growthKb: number; finite: boolean };
  expect(finite).toBe(true);
  // dW (1 MB), dh (0.25 MB), a few 1 MB blocks and allocator slack; far below 256 MB.
  expect(growthKb).toBeLessThan(64 * 1024);
});

describe('reduceTokenLogprobs', () => {
  it('sums and averages over the masked-in tokens only', () => {
    const values = [-1, -2, -3, Number.NEGATIVE_INFINITY, -0.5, -0.25, -4, -8, -9, -10, -11, -12];
    const keep = [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0];
    using tokenLogprobs = Tensor.from(values, [3, 4], { dtype: 'float64' });
    using mask = Tensor.from(keep.map(Boolean), [3, 4], { dtype: 'bool' });
    const { sum, mean } = reduceTokenLogprobs(tokenLogprobs, mask);
    // Row 0 keeps a masked −inf out of its sum; row 2 keeps nothing and gets mean 0, not NaN.
    expect(numbers(sum)).toEqual([-6, -4.25, 0]);
    expect(numbers(mean)).toEqual([-2, -4.25 / 2, 0]);
    sum.dispose();
    mean.dispose();
  });

  it('takes an integer mask and refuses a float or misshapen one', () => {
    using tokenLogprobs = Tensor.from([-1, -2, -3, -4], [2, 2], { dtype: 'float32' });
    using intMask = Tensor.from([1, 0, 1, 1], [2, 2], { dtype: 'int64' });
    using floatMask = Tensor.from([1, 0, 1, 1], [2, 2], { dtype: 'float32' });
    using wideMask = Tensor.from([1, 0, 1, 1], [1, 4], { dtype: 'bool' });
    const { sum, mean } = reduceTokenLogprobs(tokenLogprobs, intMask);
    expect(numbers(sum)).toEqual([-1, -7]);
    expect(numbers(mean)).toEqual([-1, -3.5]);
    sum.dispose();
    mean.dispose();
    for (const bad of [floatMask, wideMask]) {
      expect(() => reduceTokenLogprobs(tokenLogprobs, bad)).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining("'mask'") }),
      );
    }
  });
});

describe('argument validation', () => {
  const problem = randomProblem(1);

  const expectInvalid = async (call: () => Promise<unknown>, name: string): Promise<void> => {
    await expect(call()).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining(`'${name}'`),
    });
  };

  it('names the tensor or number at fault', async () => {
    using inputs = tensors(problem, 'float64');
    using flat = Tensor.from(problem.hidden, [N * H], { dtype: 'float64' });
    using narrow = Tensor.from(problem.weight.slice(0, V * (H - 1)), [V, H - 1], { dtype: 'float64' });
    using single = Tensor.from(problem.weight, [V, H], { dtype: 'float32' });
    using floatTargets = Tensor.from(problem.targets, [N], { dtype: 'float64' });
    using shortTargets = Tensor.from(problem.targets.slice(1), [N - 1], { dtype: 'int64' });
    using negative = Tensor.from([...problem.targets.slice(1), -1], [N], { dtype: 'int64' });
    using tooLarge = Tensor.from([...problem.targets.slice(1), V], [N], { dtype: 'int32' });
    using shortGrad = Tensor.from([1, 2], [2], { dtype: 'float64' });
    const { hidden, weight, targets } = inputs;
    await expectInvalid(() => sequenceLogprobs(flat, weight, targets, 4), 'hidden');
    await expectInvalid(() => sequenceLogprobs(hidden, narrow, targets, 4), 'weight');
    await expectInvalid(() => sequenceLogprobs(hidden, single, targets, 4), 'weight');
    await expectInvalid(() => sequenceLogprobs(hidden, weight, floatTargets, 4), 'targets');
    await expectInvalid(() => sequenceLogprobs(hidden, weight, shortTargets, 4), 'targets');
    await expectInvalid(() => sequenceLogprobs(hidden, weight, negative, 4), 'targets');
    await expectInvalid(() => sequenceLogprobs(hidden, weight, tooLarge, 4), 'targets');
    for (const chunk of [0, -1, 1.5, Number.NaN])
      await expectInvalid(() => sequenceLogprobs(hidden, weight, targets, chunk), 'chunk');
    await expectInvalid(() => sequenceLogprobs(hidden, weight, targets, 4, { vocabChunk: 0 }), 'options.vocabChunk');
    await expectInvalid(
      () => sequenceLogprobsWithGrad(hidden, weight, targets, 4, { gradOutput: shortGrad }),
      'options.gradOutput',
    );
  });

  it('refuses a disposed tensor and honours an aborted signal', async () => {
    using inputs = tensors(problem, 'float64');
    const disposed = Tensor.from(problem.hidden, [N, H], { dtype: 'float64' });
    disposed.dispose();
    await expect(sequenceLogprobs(disposed, inputs.weight, inputs.targets, 4)).rejects.toMatchObject({
      code: ErrorCode.Disposed,
    });
    const controller = new AbortController();
    controller.abort();
    await expect(
      sequenceLogprobs(inputs.hidden, inputs.weight, inputs.targets, 4, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });
});

it('frees every tensor it returns on dispose', async () => {
  using inputs = tensors(randomProblem(2), 'float32');
  const withGrad = await sequenceLogprobsWithGrad(inputs.hidden, inputs.weight, inputs.targets, 5);
  expect(withGrad.logprobs.shape).toEqual([N]);
  // Counted within one synchronous stretch: across an await, the finalizers of earlier tests' garbage may run.
  const held = liveTensors();
  withGrad[Symbol.dispose]();
  expect(liveTensors()).toBe(held - 3);
});
