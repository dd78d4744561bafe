import { ErrorCode, Tensor } from '../lib';
import {
  liveTensors,
  preferenceLoss,
  preferenceLossWithGrad,
  type PreferenceLossOptions,
  type PreferencePairs,
} from '../lib/testing';
import { native } from '../lib/native';
import type { NativePreferenceInputs, PreferenceLossKind } from '../lib/native-types';
import { mulberry32 as seededRandom } from '../lib/genius/random';
import { runReference } from './helpers/python';

type InputName = keyof PreferencePairs;
type PairValues = Record<InputName, number[]>;

/**
 * B pairs shaped like Genius's: log-prob sums of responses of 3–40 tokens, a reference within a few nats of
 * the policy, per-token means, and advantages whose difference A_l − A_w takes both signs, so that both
 * ACO clips are active on some pairs and inactive on others.
 */
function randomPairs(random: () => number, pairs: number): PairValues {
  const uniform = (low: number, high: number): number => low + (high - low) * random();
  const values: PairValues = {
    policyChosen: [],
    policyRejected: [],
    referenceChosen: [],
    referenceRejected: [],
    policyChosenMean: [],
    policyRejectedMean: [],
    chosenAdvantage: [],
    rejectedAdvantage: [],
  };
  for (let i = 0; i < pairs; i++) {
    const chosenTokens = Math.floor(uniform(3, 41));
    const rejectedTokens = Math.floor(uniform(3, 41));
    const policyChosen = -uniform(0.2, 2) * chosenTokens;
    const policyRejected = -uniform(0.2, 2) * rejectedTokens;
    values.policyChosen.push(policyChosen);
    values.policyRejected.push(policyRejected);
    values.referenceChosen.push(policyChosen + uniform(-4, 4));
    values.referenceRejected.push(policyRejected + uniform(-4, 4));
    values.policyChosenMean.push(policyChosen / chosenTokens);
    values.policyRejectedMean.push(policyRejected / rejectedTokens);
    const chosenAdvantage = uniform(-1, 0.5);
    values.chosenAdvantage.push(chosenAdvantage);
    values.rejectedAdvantage.push(chosenAdvantage + uniform(-1.5, 1.5));
  }
  return values;
}

function toTensors(values: PairValues, dtype: 'float64' | 'float32'): PreferencePairs {
  const tensors: Partial<Record<InputName, Tensor>> = {};
  for (const [name, column] of Object.entries(values) as [InputName, number[]][]) {
    tensors[name] = Tensor.from(column, [column.length], { dtype });
  }
  return tensors as PreferencePairs;
}

function disposePairs(pairs: PreferencePairs): void {
  for (const tensor of Object.values(pairs)) (tensor as Tensor).dispose();
}

function handles(pairs: PreferencePairs): NativePreferenceInputs {
  const result: NativePreferenceInputs = {};
  for (const [name, tensor] of Object.entries(pairs) as [InputName, Tensor][]) {
    result[name] = Tensor.handleOf(tensor, name);
  }
  return result;
}

const numbers = (tensor: Tensor): number[] => Array.from(tensor.toArray() as Float64Array);

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

interface Case {
  loss: PreferenceLossKind;
  beta: number;
  alpha: number;
  referenceFree: boolean;
  acoWeight: 'paper' | 'reference-code';
  /** λ of the NLL term on the chosen side (RPO); 0 is none. */
  nllWeight: number;
  inputs: PairValues;
}

interface ReferenceResult {
  losses: number[];
  chosenRewards: number[];
  rejectedRewards: number[];
  loss: number;
  accuracy: number;
  margin: number;
  grads: Record<string, number[]>;
}

// β from the reference default (0.1) to a large one (5), where |z| reaches tens and a naive log(σ(z))
// would lose everything; odd batch sizes, including a single pair.
const BATCH_SIZES = [1, 5, 13, 7];
const SETTINGS = [
  { beta: 0.1, alpha: 1 },
  { beta: 0.5, alpha: 0.3 },
  { beta: 5, alpha: 2 },
];

function allCases(): Case[] {
  const random = seededRandom(2504_08672);
  const cases: Case[] = [];
  const variants: [PreferenceLossKind, 'paper' | 'reference-code'][] = [
    ['aco', 'paper'],
    ['aco', 'reference-code'],
    ['dpo', 'paper'],
    ['ipo', 'paper'],
    ['simpo', 'paper'],
    ['ropo', 'paper'],
    ['sft', 'paper'],
  ];
  for (const [loss, acoWeight] of variants) {
    for (const referenceFree of [false, true]) {
      for (const { beta, alpha } of SETTINGS) {
        const inputs = randomPairs(random, BATCH_SIZES[cases.length % BATCH_SIZES.length]);
        cases.push({ loss, acoWeight, referenceFree, beta, alpha, nllWeight: 0, inputs });
      }
    }
  }
  // The NLL term on the chosen side, added to the losses it is used with.
  for (const [loss, acoWeight] of [variants[0], variants[2]]) {
    for (const nllWeight of [0.2, 1.5]) {
      const inputs = randomPairs(random, BATCH_SIZES[cases.length % BATCH_SIZES.length]);
      cases.push({ loss, acoWeight, referenceFree: false, ...SETTINGS[1], nllWeight, inputs });
    }
  }
  return cases;
}

const optionsOf = ({ loss, beta, alpha, referenceFree, acoWeight, nllWeight }: Case): PreferenceLossOptions => ({
  loss,
  beta,
  alpha,
  referenceFree,
  acoWeight,
  nllWeight,
});

const describeCase = (c: Case): string =>
  `${c.loss}${c.loss === 'aco' ? `/${c.acoWeight}` : ''} β=${c.beta} α=${c.alpha} λ=${c.nllWeight}` +
  `${c.referenceFree ? ' reference-free' : ''} B=${c.inputs.policyChosen.length}`;

describe('preference losses against the Python reference (aco_reference.py)', () => {
  const cases = allCases();
  const reference = runReference<{ results: ReferenceResult[] }>('aco_reference.py', { cases }).results;

  /** Runs every case in `dtype` and lists every value outside `tolerance` of the float64 reference. */
  function compareAll(dtype: 'float64' | 'float32', tolerance: number): string[] {
    const found: string[] = [];
    cases.forEach((c, index) => {
      const pairs = toTensors(c.inputs, dtype);
      using result = preferenceLossWithGrad(pairs, optionsOf(c));
      const expected = reference[index];
      const label = describeCase(c);
      found.push(
        ...mismatches(`${label} losses`, numbers(result.losses), expected.losses, tolerance),
        ...mismatches(`${label} chosenRewards`, numbers(result.chosenRewards), expected.chosenRewards, tolerance),
        ...mismatches(`${label} rejectedRewards`, numbers(result.rejectedRewards), expected.rejectedRewards, tolerance),
        ...mismatches(
          `${label} loss/accuracy/margin`,
          [result.loss, result.accuracy, result.margin],
          [expected.loss, expected.accuracy, expected.margin],
          tolerance,
        ),
      );
      for (const [name, grad] of Object.entries(expected.grads)) {
        const actual = result.grads[name as keyof typeof result.grads];
        if (actual === undefined) found.push(`${label}: no gradient for ${name}`);
        else found.push(...mismatches(`${label} d/d${name}`, numbers(actual), grad, tolerance));
        expect(actual?.dtype).toBe(dtype);
      }
      expect(result.losses.dtype).toBe(dtype);
      disposePairs(pairs);
    });
    return found;
  }

  it('match in value, rewards, metrics and gradient to 1e-6 in float64', () => {
    expect(compareAll('float64', 1e-6)).toEqual([]);
  });

  it('compute in float32 too, close to the float64 reference', () => {
    expect(compareAll('float32', 1e-4)).toEqual([]);
  });
});

describe('explicit backward of each autograd Function against central differences (float64, native)', () => {
  // testing.preferenceLossGradientError differentiates Σ_k v_k·L_k (v a ramp, so the backward must honour
  // a non-uniform incoming gradient) through the Function's backward, and compares it with
  // (s(x + ε) − s(x − ε)) / 2ε for every element of every log-prob input, ε = 1e-6.
  const random = seededRandom(7);
  const variants: [PreferenceLossKind, PreferenceLossOptions][] = [
    ['aco', { acoWeight: 'paper' }],
    ['aco', { acoWeight: 'reference-code', alpha: 0.5 }],
    ['aco', { referenceFree: true }],
    ['dpo', {}],
    ['dpo', { referenceFree: true, beta: 2 }],
    ['ipo', {}],
    ['simpo', { beta: 2 }],
    ['ropo', { beta: 0.5 }],
    ['sft', {}],
  ];
  it.each(variants)('%s %j', (loss, options) => {
    const pairs = toTensors(randomPairs(random, 9), 'float64');
    const check = native().testing.preferenceLossGradientError(handles(pairs), { ...options, loss });
    disposePairs(pairs);
    expect(check.maxNumericGradient).toBeGreaterThan(1e-3);
    expect(check.maxAbsoluteError).toBeLessThan(1e-6);
  });
});

describe('properties of ACO', () => {
  const values = randomPairs(seededRandom(11), 11);

  it('becomes DPO as α → ∞, with either clip', () => {
    const pairs = toTensors(values, 'float64');
    using dpo = preferenceLoss(pairs, { loss: 'dpo', beta: 0.3 });
    for (const acoWeight of ['paper', 'reference-code'] as const) {
      using aco = preferenceLoss(pairs, { loss: 'aco', beta: 0.3, alpha: 1e15, acoWeight });
      expect(mismatches(acoWeight, numbers(aco.losses), numbers(dpo.losses), 1e-12)).toEqual([]);
    }
    disposePairs(pairs);
  });

  it('defaults to the paper weight min(1, ·), β = 0.1, α = 1', () => {
    const pairs = toTensors(values, 'float64');
    using implicit = preferenceLoss(pairs);
    using explicit = preferenceLoss(pairs, { loss: 'aco', acoWeight: 'paper', beta: 0.1, alpha: 1 });
    using referenceCode = preferenceLoss(pairs, { acoWeight: 'reference-code' });
    expect(numbers(implicit.losses)).toEqual(numbers(explicit.losses));
    expect(numbers(implicit.losses)).not.toEqual(numbers(referenceCode.losses));
    disposePairs(pairs);
  });

  it('treats the weight as a constant: no gradient reaches the advantages', () => {
    const pairs = toTensors(values, 'float64');
    using result = preferenceLossWithGrad(pairs);
    expect(Object.keys(result.grads).sort()).toEqual([
      'policyChosen',
      'policyChosenMean',
      'policyRejected',
      'policyRejectedMean',
      'referenceChosen',
      'referenceRejected',
    ]);
    disposePairs(pairs);
  });
});

describe('argument validation', () => {
  const values = randomPairs(seededRandom(3), 5);
  let pairs: PreferencePairs;
  beforeEach(() => {
    pairs = toTensors(values, 'float64');
  });
  afterEach(() => disposePairs(pairs));

  const expectInvalid = (call: () => unknown, name: string): void => {
    expect(call).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining(`'${name}'`) }),
    );
  };

  it('names an advantage or log-prob tensor holding NaN', () => {
    using nan = Tensor.from([0, Number.NaN, 0, 0, 0], [5], { dtype: 'float64' });
    expectInvalid(() => preferenceLoss({ ...pairs, chosenAdvantage: nan }), 'inputs.chosenAdvantage');
    expectInvalid(() => preferenceLoss({ ...pairs, rejectedAdvantage: nan }), 'inputs.rejectedAdvantage');
    expectInvalid(() => preferenceLoss({ ...pairs, policyChosen: nan }), 'inputs.policyChosen');
    expectInvalid(
      () => preferenceLoss({ ...pairs, referenceRejected: nan }, { loss: 'dpo' }),
      'inputs.referenceRejected',
    );
  });

  it('refuses tensors that disagree in length, dtype, rank or kind', () => {
    using longer = Tensor.from([1, 2, 3, 4, 5, 6], [6], { dtype: 'float64' });
    using single = Tensor.from([1, 2, 3, 4, 5], [5], { dtype: 'float32' });
    using integer = Tensor.from([1, 2, 3, 4, 5], [5], { dtype: 'int64' });
    using matrix = Tensor.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2], { dtype: 'float64' });
    using empty = Tensor.from([], [0], { dtype: 'float64' });
    expectInvalid(() => preferenceLoss({ ...pairs, policyRejected: longer }), 'inputs.policyRejected');
    expectInvalid(() => preferenceLoss({ ...pairs, referenceChosen: single }), 'inputs.referenceChosen');
    expectInvalid(() => preferenceLoss({ ...pairs, referenceChosen: integer }), 'inputs.referenceChosen');
    expectInvalid(() => preferenceLoss({ ...pairs, chosenAdvantage: matrix }), 'inputs.chosenAdvantage');
    expectInvalid(() => preferenceLoss({ ...pairs, policyChosen: empty }), 'inputs.policyChosen');
  });

  it('requires what the chosen loss reads, and only that', () => {
    const { chosenAdvantage, rejectedAdvantage, policyChosenMean, policyRejectedMean, ...sums } = pairs;
    expectInvalid(() => preferenceLoss(sums), 'inputs.chosenAdvantage');
    expectInvalid(() => preferenceLoss({ ...sums, chosenAdvantage }), 'inputs.rejectedAdvantage');
    expectInvalid(() => preferenceLoss(sums, { loss: 'simpo' }), 'inputs.policyChosenMean');
    expectInvalid(() => preferenceLoss({ ...sums, policyChosenMean }, { loss: 'simpo' }), 'inputs.policyRejectedMean');
    expectInvalid(() => preferenceLoss(sums, { loss: 'sft' }), 'inputs.policyChosenMean');
    expectInvalid(() => preferenceLoss(sums, { loss: 'dpo', nllWeight: 0.5 }), 'inputs.policyChosenMean');
    const { referenceChosen, referenceRejected, ...policyOnly } = sums;
    expectInvalid(
      () => preferenceLoss({ ...policyOnly, referenceRejected }, { loss: 'dpo' }),
      'inputs.referenceChosen',
    );
    expectInvalid(
      () => preferenceLoss({ ...policyOnly, referenceChosen }, { loss: 'dpo' }),
      'inputs.referenceRejected',
    );
    using dpo = preferenceLoss(sums, { loss: 'dpo' });
    using referenceFree = preferenceLoss(policyOnly, { loss: 'dpo', referenceFree: true });
    using withMeans = preferenceLoss({ ...policyOnly, policyChosenMean }, { loss: 'sft', referenceFree: true });
    using aco = preferenceLoss({ ...sums, chosenAdvantage, rejectedAdvantage });
    using simpo = preferenceLoss({ ...sums, policyChosenMean, policyRejectedMean }, { loss: 'simpo' });
    expect([dpo, referenceFree, withMeans, aco, simpo].every((r) => Number.isFinite(r.loss))).toBe(true);
  });

  it('checks the options', () => {
    expectInvalid(() => preferenceLoss(pairs, { beta: 0 }), 'options.beta');
    expectInvalid(() => preferenceLoss(pairs, { beta: -0.1 }), 'options.beta');
    expectInvalid(() => preferenceLoss(pairs, { beta: Number.NaN }), 'options.beta');
    expectInvalid(() => preferenceLoss(pairs, { beta: Number.POSITIVE_INFINITY }), 'options.beta');
    expectInvalid(() => preferenceLoss(pairs, { alpha: 0 }), 'options.alpha');
    expectInvalid(() => preferenceLoss(pairs, { alpha: '1' as unknown as number }), 'options.alpha');
    expectInvalid(() => preferenceLoss(pairs, { loss: 'kto' as PreferenceLossKind }), 'options.loss');
    expectInvalid(() => preferenceLoss(pairs, { acoWeight: 'max' as 'paper' }), 'options.acoWeight');
    expectInvalid(() => preferenceLoss(pairs, { referenceFree: 1 as unknown as boolean }), 'options.referenceFree');
    expectInvalid(() => preferenceLoss(pairs, { nllWeight: -0.1 }), 'options.nllWeight');
    expectInvalid(() => preferenceLoss(pairs, { nllWeight: Number.POSITIVE_INFINITY }), 'options.nllWeight');
    expectInvalid(() => preferenceLoss(null as unknown as PreferencePairs), 'inputs');
  });

  it('refuses a non-tensor and a disposed tensor', () => {
    expect(() => preferenceLoss({ ...pairs, policyChosen: [1, 2] as unknown as Tensor })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidHandle }),
    );
    const disposed = Tensor.from([1, 2, 3, 4, 5], [5], { dtype: 'float64' });
    disposed.dispose();
    expect(() => preferenceLoss({ ...pairs, policyRejected: disposed })).toThrow(
      expect.objectContaining({ code: ErrorCode.Disposed }),
    );
  });
});

it('frees every tensor it returns on dispose', () => {
  const pairs = toTensors(randomPairs(seededRandom(5), 3), 'float64');
  const before = liveTensors();
  {
    using withGrad = preferenceLossWithGrad(pairs, { loss: 'simpo' });
    using plain = preferenceLoss(pairs);
    expect(liveTensors()).toBe(before + 3 + Object.keys(withGrad.grads).length + 3);
    expect(plain.losses.disposed).toBe(false);
  }
  expect(liveTensors()).toBe(before);
  disposePairs(pairs);
});
