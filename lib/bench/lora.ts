/**
 * LoRA: the train workload's ACO optimizer step (train.ts) on a LoRA adapter, the base weights frozen: ours against
 * peft over transformers (bench/python/lora.py), and against our own full fine-tune of the same pairs.
 *
 * Both sides start from the same adapter, written before their workers start with our Model.load(..., { lora }) and
 * saveAdapter, and each loads it as its users do (protocol.ts's `adapter`). Its B is drawn at random rather than
 * left at zero: with B = 0 the adapted model is the base, the first step's loss is the base's whatever the adapter
 * computes, and the policy's log-probs equal the reference's. Dropout is 0, so both sides are deterministic and
 * their losses must agree step by step, as train's do; their gradient norms too, which they only do if both train
 * the adapter alone. The reference log-probs are the base's, the adapter off. Our side's step is train.ts's
 * prepareTrain on the model loaded with the adapter.
 *
 * Against the full fine-tune, the rows set LoRA's time per step and peak RSS beside the train workload's ours side
 * of the same run (run-bench.ts runs train's steps for it when --only leaves train out): the same pairs, the same
 * model, measured in the same kind of worker. The report's targets are the project's: LoRA's peak RSS at most half
 * the full fine-tune's, its step at most 0.8× peft's.
 */
import path from 'node:path';
import { seededRandom } from '../genius/random';
import { ADAPTER_WEIGHTS_FILE, LORA_TARGETS } from '../model/lora';
import { Model } from '../model/model';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../model/safetensors';
import { Tensor } from '../tensor';
import type { BenchPlan } from './plan';
import { interleaved, type CompareContext } from './protocol';
import { atMost, targetAtMost, workloadReport, type UnratedRow, type WorkloadReport } from './results';
import { stepParts, stepTolerances, trainSetup, type TrainSetup } from './train';

export interface LoraSetup extends TrainSetup {
  adapter: string;
}

/** The project's goals for LoRA (issue 16): ratios of ours that must be at most these. */
export const LORA_GOALS = { peakRssOfFullFineTune: 0.5, stepTimeOfPeft: 0.8 };

const elements = (shape: readonly number[]): number => shape.reduce((product, size) => product * size, 1);

/**
 * Writes the adapter both sides start from into `dir`: a new adapter of ours over `model` with the plan's rank and
 * alpha, dropout 0 and every projection, its B then drawn from U(±1/√rank), nn.Linear's initialisation, which
 * peft's init_lora_weights=False leaves in place. Returns how many weights the adapter has.
 */
export async function writeBenchAdapter(model: string, dir: string, settings: BenchPlan['lora']): Promise<number> {
  {
    using base = await Model.load(model, { lora: { ...settings, dropout: 0, targets: LORA_TARGETS, seed: 0 } });
    await base.saveAdapter(dir);
  }
  const file = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const tensors = await readSafetensors(file);
  try {
    const random = seededRandom('bench', 'lora');
    const bound = 1 / Math.sqrt(settings.rank);
    for (const [name, tensor] of Object.entries(tensors)) {
      if (!name.endsWith('.lora_B.weight')) continue;
      const values = Float32Array.from({ length: elements(tensor.shape) }, () => (2 * random() - 1) * bound);
      tensors[name] = Tensor.from(values, tensor.shape);
      tensor.dispose();
    }
    await writeSafetensors(file, tensors, readSafetensorsMetadata(file));
    return Object.values(tensors).reduce((sum, tensor) => sum + elements(tensor.shape), 0);
  } finally {
    Object.values(tensors).forEach((tensor) => tensor.dispose());
  }
}

/** What both sides (and `bench --profile`) run, and the adapter's size; writes the adapter into the scratch directory. */
export async function loraSetup(context: CompareContext): Promise<{ setup: LoraSetup; adapterWeights: number }> {
  const adapter = path.join(context.scratch, 'lora-adapter');
  const adapterWeights = await writeBenchAdapter(context.model.dir, adapter, context.plan.lora);
  return { setup: { ...trainSetup(context), adapter }, adapterWeights };
}

const AGAINST_FULL = 'vs our full fine-tune';

/** Both sides' LoRA steps, compared; and ours against `fullFineTune`, the train workload's steps of this run. */
export async function compareLora(
  context: CompareContext,
  fullFineTune: WorkloadReport,
  parity?: WorkloadReport,
): Promise<WorkloadReport> {
  const { setup, adapterWeights } = await loraSetup(context);
  const run = await interleaved(context, 'lora', setup);
  // The frozen base's weights take a forward and the backward to their inputs, but no gradient of their own.
  const steps = stepParts(context, setup, run, 2, parity);
  const gradNormDiffs = run.ours.map(
    (ours, step) => Math.abs(ours.gradNorm - run.reference[step].gradNorm) / run.reference[step].gradNorm,
  );
  const row = (rows: readonly UnratedRow[], metric: string): UnratedRow =>
    rows.find((candidate) => candidate.metric === metric)!;
  // Ours with LoRA in the ours column, ours training every weight in the reference column.
  const againstFull = (metric: string): UnratedRow => ({
    ...row(steps.rows, metric),
    metric: `${metric} ${AGAINST_FULL}`,
    reference: row(fullFineTune.metrics, metric).ours,
  });
  const { rank, alpha } = context.plan.lora;
  const report = workloadReport(
    [
      ...steps.checks,
      atMost('max step grad-norm relative diff', Math.max(...gradNormDiffs), stepTolerances(context).gradNorm),
    ],
    [...steps.rows, againstFull('time per step'), againstFull('peak RSS')],
    [
      ...steps.notes,
      `adapter: rank ${rank}, alpha ${alpha}, dropout 0, ${LORA_TARGETS.length} projections a layer, ` +
        `${adapterWeights} weights (${((100 * adapterWeights) / context.model.matmulParameters).toFixed(1)}% of the model's matmul weights); ` +
        'both sides start from the same one, B random',
      `rows "${AGAINST_FULL}": the reference column is our full fine-tune of the same pairs (the train workload's ours side)` +
        (fullFineTune.valid ? '' : ', INVALID there, so their ratios are withheld'),
      "share of matmul rate: the base's weights count a forward and the backward to their inputs; the adapter's own matmuls are left out",
    ],
  );
  // A full fine-tune whose sides disagree is no measure to set LoRA against; LoRA against peft stands on its own.
  const metrics = report.metrics.map((metric) =>
    metric.metric.endsWith(AGAINST_FULL) && !fullFineTune.valid ? { ...metric, ratio: null } : metric,
  );
  const ratio = (metric: string): number | null => metrics.find((candidate) => candidate.metric === metric)!.ratio;
  return {
    ...report,
    metrics,
    targets: [
      targetAtMost(
        "peak RSS / our full fine-tune's",
        ratio(`peak RSS ${AGAINST_FULL}`),
        LORA_GOALS.peakRssOfFullFineTune,
      ),
      targetAtMost("time per step / peft's", ratio('time per step'), LORA_GOALS.stepTimeOfPeft),
    ],
  };
}
