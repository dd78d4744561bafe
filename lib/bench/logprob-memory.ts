/**
 * The log-prob stage's peak memory by sequence length, at a vocabulary of at least 32k (part of the train
 * workload): token log-probs and their gradients from final hidden states and the LM head. Ours is chunked
 * (lib/train/logprobs: blocks of rows × vocabulary columns, so the [N, V] logits never exist), with the chunk
 * sizes the Trainer uses; bench/python/logprob_memory.py is the reference's full log_softmax. Each length is
 * measured once per side (memory does not vary between runs) after a warm-up at the shortest. On the CPU,
 * lengths at which the reference would need more than half of the free memory are skipped for it rather than
 * risking the machine.
 *
 * The inputs are computed, not passed: element i of a tensor with salt s is u = ((i·2654435761 + s) mod 2^32) /
 * 2^32, rounded to float32; Python computes the same bits (see logprob_memory.py).
 */
import os from 'node:os';
import { Tensor } from '../tensor';
import { sequenceLogprobsWithGrad } from '../train/logprobs';
import {
  withWorkers,
  type CommonSetup,
  type CompareContext,
  type Loaded,
  type Measurement,
  type Run,
  type WorkerProcess,
} from './protocol';
import { atMost, GIB, maxAbsDifference, type LogprobMemoryReport, type LogprobMemoryRow } from './results';

export interface LogprobSetup extends CommonSetup {
  hidden: number;
  vocab: number;
  lengths: number[];
}

export interface LogprobResult {
  length: number;
  logprobs: number[];
}

const MULTIPLIER = 2654435761;
const HIDDEN_SALT = 1;
const WEIGHT_SALT = 2;
/** Rows of logits computed together: the Trainer's default (native/train/logprobs.h). */
const ROW_CHUNK = 1024;

/** `count` values a + b·u, u as above, in float32. */
function uniform(count: number, salt: number, a: number, b: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = (((Math.imul(i, MULTIPLIER) >>> 0) + salt) % 2 ** 32) / 2 ** 32;
    values[i] = a + b * u;
  }
  return values;
}

/** Our side's measurement. */
export async function prepareLogprobs(setup: LogprobSetup, loaded: Loaded): Promise<Run<'logprobs'>> {
  const { vocab, hidden: size } = setup;
  const device = loaded.device;
  const weight = Tensor.from(uniform(vocab * size, WEIGHT_SALT, -0.1, 0.2), [vocab, size], { device });
  // Inputs are made before measuring: a measurement holds the stage alone.
  const inputs = new Map(
    setup.lengths.map((length) => [
      length,
      {
        hidden: Tensor.from(uniform(length * size, HIDDEN_SALT, -1, 2), [length, size], { device }),
        targets: Tensor.from(
          Int32Array.from({ length }, (_, i) => (i * 7919) % vocab),
          [length],
          { dtype: 'int32', device },
        ),
      },
    ]),
  );
  return async ({ length = setup.lengths[0] }) => {
    const input = inputs.get(length);
    if (input === undefined) throw new Error(`length ${length} is not one of the setup's lengths`);
    using result = await sequenceLogprobsWithGrad(input.hidden, weight, input.targets, ROW_CHUNK);
    return { length, logprobs: Array.from(result.logprobs.toArray() as Float32Array) };
  };
}

/** The smallest vocabulary the comparison is made at: the size at which full logits start to weigh. */
const MIN_VOCAB = 32768;
/** [N, V] float32 tensors the reference holds at its peak: logits, log_softmax, and their gradients. */
const REFERENCE_FULL_TENSORS = 4;

type Attempt = { measurement: Measurement<'logprobs'> } | { error: string };

async function attempt(worker: WorkerProcess<'logprobs'>, length: number): Promise<Attempt> {
  try {
    return { measurement: await worker.measure({ length }) };
  } catch (error) {
    return { error: (error as Error).message.split('\n').slice(0, 3).join(' ') };
  }
}

function sideMemory(result: Attempt, onCuda: boolean): LogprobMemoryRow['ours'] {
  if ('error' in result) return result;
  const { peakRssBytes, baselineRssBytes, cudaPeakBytes, seconds } = result.measurement;
  if (!onCuda) return { peakDeltaBytes: peakRssBytes - baselineRssBytes, seconds };
  // On CUDA the stage's memory is the allocator's peak, which only torch reports (the addon has no such statistic).
  return cudaPeakBytes === null
    ? { skipped: 'its CUDA memory peak is not reported (the addon exposes no CUDA memory statistics yet)' }
    : { peakDeltaBytes: cudaPeakBytes, seconds };
}

export async function compareLogprobMemory(context: CompareContext): Promise<LogprobMemoryReport> {
  const { device, threads } = context.common;
  const vocab = Math.max(context.model.vocab, MIN_VOCAB);
  const hidden = context.model.hidden;
  const lengths = [...context.plan.logprobs.lengths].sort((a, b) => a - b);
  const needs = (length: number): number => REFERENCE_FULL_TENSORS * length * vocab * 4;
  const onCuda = device.startsWith('cuda');
  const affordable = (length: number): boolean => onCuda || needs(length) < os.freemem() / 2;
  const referenceLengths = lengths.filter(affordable);
  const rows = await withWorkers(
    context,
    'logprobs',
    (side) => ({
      device,
      dtype: 'float32',
      threads,
      hidden,
      vocab,
      lengths: side === 'ours' ? lengths : referenceLengths,
    }),
    async (workers): Promise<LogprobMemoryRow[]> => {
      context.log('logprobs: warm-up');
      await workers.ours.measure({ length: lengths[0] });
      if (referenceLengths.length > 0) await workers.reference.measure({ length: referenceLengths[0] });
      const measured: LogprobMemoryRow[] = [];
      for (const length of lengths) {
        const ours = await attempt(workers.ours, length);
        const reference = referenceLengths.includes(length)
          ? await attempt(workers.reference, length)
          : { skipped: `would need about ${(needs(length) / GIB).toFixed(1)} GiB, more than half the free memory` };
        const maxAbsDiff =
          'measurement' in ours && 'measurement' in reference
            ? maxAbsDifference(ours.measurement.logprobs, reference.measurement.logprobs)
            : null;
        measured.push({
          length,
          ours: sideMemory(ours, onCuda),
          reference: 'skipped' in reference ? reference : sideMemory(reference, onCuda),
          maxAbsDiff,
        });
        context.log(`logprobs: length ${length} measured`);
      }
      return measured;
    },
  );
  const diffs = rows.flatMap((row) => (row.maxAbsDiff === null ? [] : [row.maxAbsDiff]));
  const check =
    diffs.length === 0 ? null : atMost('max |log-prob diff|', Math.max(...diffs), context.tolerances.logprobs);
  return { vocab, hidden, rows, check };
}
