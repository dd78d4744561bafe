/**
 * One decode step's draw (the ATen sampler: the CPU path and the reference of the CUDA kernel) against what
 * transformers' generate() does to the same logits: the repetition penalty as RepetitionPenaltyLogitsProcessor
 * changes them, and draws with the distribution that generate's processors (repetition penalty, temperature, top-k,
 * top-p, min-p, in its own order) leave. The log-prob of a drawn token stays the model's own.
 */
import { Tensor } from '../lib';
import { native } from '../lib/native';
import type { NativeTesting } from '../lib/native-types';
import { runReference } from './helpers/python';
import { countDraws, expectDrawnFrom, randomLogits } from './helpers/sampling';

interface Settings {
  temperature: number;
  top_p: number;
  top_k: number;
  min_p: number;
  repetition_penalty: number;
}

interface Reference {
  penalized?: number[][];
  probabilities?: number[][];
}

const testing = (): NativeTesting => native().testing;

/** The ATen path's draws of one row of `logits` repeated `rows` times, each repetition having seen `previous`. */
function drawMany(row: Float32Array, previous: number[], settings: Settings, rows: number) {
  const values = new Float32Array(rows * row.length);
  for (let r = 0; r < rows; r++) values.set(row, r * row.length);
  using logits = Tensor.from(values, [rows, row.length]);
  const options = {
    temperature: settings.temperature,
    topP: settings.top_p,
    topK: settings.top_k,
    minP: settings.min_p,
    repetitionPenalty: settings.repetition_penalty,
    previous: Array.from({ length: rows }, () => previous),
    seed: 7,
    step: 0,
  };
  const draw = testing().sampleTokens(Tensor.handleOf(logits, 'logits'), options, 'aten');
  using tokens = Tensor.fromNative(draw.tokens);
  using logprobs = Tensor.fromNative(draw.logprobs);
  return {
    tokens: Array.from(tokens.toArray() as BigInt64Array, Number),
    logprobs: logprobs.toArray() as Float32Array,
  };
}

/** log_softmax(row)[token] in float64. */
function logprob(row: Float32Array, token: number): number {
  const max = Math.max(...row);
  return row[token] - max - Math.log(row.reduce((sum, v) => sum + Math.exp(v - max), 0));
}

describe('sampling as transformers generate() samples', () => {
  const vocab = 64;

  it('penalises repetition as RepetitionPenaltyLogitsProcessor: the same logits, bit for bit', () => {
    const rows = 4;
    const values = randomLogits(rows, vocab, 11).map((v) => v - 4); // positive and negative logits
    // Repeated ids, ids seen once, and a row that has seen nothing.
    const previous = [[3, 3, 9, 40, 63], [0], [], [5, 6, 7, 8, 9, 10, 11, 5, 6, 7, 62]];
    using logits = Tensor.from(values, [rows, vocab]);
    for (const penalty of [1.3, 0.7]) {
      const reference = runReference<Reference>('sampling_reference.py', {
        logits: Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * vocab, (r + 1) * vocab))),
        input_ids: previous,
        repetition_penalty: penalty,
      });
      using ours = Tensor.fromNative(
        testing().penalizeRepetition(Tensor.handleOf(logits, 'logits'), previous, penalty),
      );
      expect(Array.from(ours.toArray() as Float32Array)).toEqual(reference.penalized!.flat());
      // Only the seen tokens changed.
      const changed = Array.from(ours.toArray() as Float32Array).flatMap((v, i) => (v !== values[i] ? [i] : []));
      expect(changed).toEqual(
        previous.flatMap((ids, r) => [...new Set(ids)].sort((a, b) => a - b).map((id) => r * vocab + id)),
      );
    }
  });

  it.each<[string, Settings]>([
    ['min-p after temperature', { temperature: 0.7, top_p: 1, top_k: 0, min_p: 0.1, repetition_penalty: 1 }],
    ['every processor at once', { temperature: 1.3, top_p: 0.9, top_k: 20, min_p: 0.05, repetition_penalty: 1.5 }],
    [
      'a penalty below 1 (repetition favoured)',
      { temperature: 1, top_p: 1, top_k: 0, min_p: 0, repetition_penalty: 0.6 },
    ],
    [
      'the penalty and min-p without temperature',
      { temperature: 1, top_p: 1, top_k: 0, min_p: 0.2, repetition_penalty: 2 },
    ],
  ])('draws with the distribution generate() leaves: %s (chi-square, 20k draws)', (_name, settings) => {
    const row = randomLogits(1, vocab, 5).map((v) => v / 3);
    // The most likely tokens among those seen, so that the penalty moves mass.
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
    const previous = [order[0], order[2], order[2], order[7], order[30]];
    const reference = runReference<Reference>('sampling_reference.py', {
      logits: [Array.from(row)],
      input_ids: [previous],
      settings,
    });
    const [probabilities] = reference.probabilities!;
    const draws = 20000;
    const { tokens, logprobs } = drawMany(row, previous, settings, draws);
    const counts = countDraws(tokens, vocab);
    expectDrawnFrom(counts, probabilities);
    if (settings.min_p > 0) {
      // Every token min-p keeps is at least min_p × the top one's probability: with 20k draws each is drawn, so the
      // drawn set is the kept set.
      const kept = probabilities.flatMap((p, token) => (p > 0 ? [token] : []));
      expect(counts.flatMap((count, token) => (count > 0 ? [token] : []))).toEqual(kept);
    }
    for (let i = 0; i < 50; i++) expect(logprobs[i]).toBeCloseTo(logprob(row, tokens[i]), 5);
  });
});
