/**
 * The log-prob stage's peak memory by sequence length, at a vocabulary of at least 32k: our chunked log-probs
 * (forward and backward) against the reference's full [N, V] log_softmax. Each length is measured once per side
 * (memory does not vary between runs) after a warm-up at the shortest. On the CPU, lengths at which the
 * reference would need more than half of the free memory are skipped for it rather than risking the machine.
 */
import os from 'node:os';
import { atMost, maxAbsDifference } from '../checks';
import { withWorkers, type CompareContext } from '../interleave';
import type { Measurement } from '../protocol';
import type { LogprobMemoryRow, TrainReport } from '../results';
import type { WorkerProcess } from '../worker-process';
import { MEGABYTE } from './report';

/** The smallest vocabulary the comparison is made at: the size at which full logits start to weigh. */
export const MIN_VOCAB = 32768;
/** [N, V] float32 tensors the reference holds at its peak: logits, log_softmax, and their gradients. */
const REFERENCE_FULL_TENSORS = 4;
const GIB = 1024 * MEGABYTE;

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

export async function compareLogprobMemory(context: CompareContext): Promise<TrainReport['logprobMemory']> {
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
