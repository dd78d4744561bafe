/**
 * Trainer: optimizer steps on a loaded Model, in place. The model trained is the very one that generates, so
 * after a step every generate() samples from the new weights (Genius alternates exploring and optimising).
 * Steps and generation never overlap on one model: the model's weights lock serialises them (a generate()
 * issued during a step waits for it, and the other way round). A KV cache kept from before a step holds
 * keys and values of the old weights.
 *
 * One step is one AdamW update over a whole batch: micro-batches of `microBatch` pairs (or sequences) run
 * forward and backward in turn and their gradients add up (gradient accumulation), then the global gradient
 * norm is clipped and the optimizer steps. A NaN or infinite loss or gradient throws ERR_GENIUS_NON_FINITE
 * and leaves the weights and the optimizer as they were. With a process group (options.group) the ranks train
 * together, data-parallel: each passes its share of the step's examples (an empty share is allowed).
 */
import { cancellable, type CallOptions } from '../async';
import { invalidArgument } from '../errors';
import { Model, writeModelDirectory, type SaveOptions } from '../model/model';
import { ProcessGroup } from '../dist/process-group';
import { native } from '../native';
import type { NativeSequences, NativeStepMetrics, NativeTrainer, PreferenceLossOptions } from '../native-types';
import { packSequences, type TrainingPair, type TrainingSequence } from './sequences';

export interface TrainerOptions extends PreferenceLossOptions {
  /** AdamW's β1, β2 and ε (defaults 0.9, 0.999, 1e-8) and decoupled weight decay (default 0; biases and norms never decay). */
  adamBeta1?: number;
  adamBeta2?: number;
  adamEps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this; 0 or absent: no clipping. */
  maxGradNorm?: number;
  /** Pairs (or sequences) per forward. Default 1. */
  microBatch?: number;
  /**
   * bfloat16 autocast over a float32 model's forward and backward, on CUDA (ignored on the CPU). Default: on
   * for CUDA. The optimizer always updates float32 weights: a bfloat16/float16 model gets float32 masters.
   */
  autocast?: boolean;
  /** Recompute each decoder layer in backward instead of keeping its activations. Default false. */
  checkpointLayers?: boolean;
  /**
   * Data parallelism: each step's examples are this rank's share of the batch (possibly none), and gradients and
   * metrics are summed over the group's ranks, so every rank applies the update of the whole batch. The ranks start
   * from rank 0's weights.
   */
  group?: ProcessGroup;
  /**
   * With a group, ZeRO stage 1: each rank keeps AdamW's moments of its share of the parameters only (whole tensors,
   * balanced by size), updates those and broadcasts them; the same weights as unsharded. saveState then gathers the
   * moments to rank 0 (which writes them) and every rank must call it. Without a group it changes nothing. Default
   * false.
   */
  shardOptimizer?: boolean;
}

/** What one optimizer step did. */
export type StepResult = NativeStepMetrics;

/** Reference log-probs of pairs: Σ log πref over each response. */
export interface ReferenceLogprobs {
  chosen: Float64Array;
  rejected: Float64Array;
}

/** The chosen and the rejected sides of `pairs`, each in one flat buffer. */
function packSides(pairs: readonly TrainingPair[]): { chosen: NativeSequences; rejected: NativeSequences } {
  return {
    chosen: packSequences(pairs.map((pair) => pair.chosen)),
    rejected: packSequences(pairs.map((pair) => pair.rejected)),
  };
}

export class Trainer implements Disposable {
  private constructor(
    private readonly handle: NativeTrainer,
    readonly options: Readonly<TrainerOptions>,
  ) {}

  static async create(model: Model, options: TrainerOptions = {}, callOptions: CallOptions = {}): Promise<Trainer> {
    const modelHandle = Model.handleOf(model, 'model');
    const { adamBeta1, adamBeta2, adamEps, autocast, group, shardOptimizer, ...rest } = options;
    const onCuda = modelHandle.describe().device.startsWith('cuda');
    const groupHandle = group && ProcessGroup.handleOf(group, 'options.group');
    const handle = await cancellable(callOptions, (cancel) =>
      native().createTrainer(
        modelHandle,
        {
          ...rest,
          beta1: adamBeta1,
          beta2: adamBeta2,
          eps: adamEps,
          autocastBf16: autocast ?? onCuda,
          group: groupHandle,
          shardOptimizer: group !== undefined && (shardOptimizer ?? false),
        },
        { cancel },
      ),
    );
    return new Trainer(handle, { ...options });
  }

  /**
   * One update of the preference loss (options.loss, default ACO) averaged over `pairs`, at learning rate `lr`.
   * `reference` is required unless options.referenceFree.
   */
  async preferenceStep(
    pairs: readonly TrainingPair[],
    reference: ReferenceLogprobs | undefined,
    lr: number,
    options: CallOptions = {},
  ): Promise<StepResult> {
    if (pairs.length === 0 && !this.options.group) invalidArgument('pairs', 'a non-empty array');
    const batch = {
      ...packSides(pairs),
      referenceChosen: reference?.chosen,
      referenceRejected: reference?.rejected,
      chosenAdvantage: Float64Array.from(pairs, (pair) => pair.chosenAdvantage),
      rejectedAdvantage: Float64Array.from(pairs, (pair) => pair.rejectedAdvantage),
    };
    return await cancellable(options, (cancel) => this.handle.preferenceStep(batch, lr, { cancel }));
  }

  /** One update of next-token cross-entropy over the response tokens of `sequences` (their token mean). */
  async sftStep(sequences: readonly TrainingSequence[], lr: number, options: CallOptions = {}): Promise<StepResult> {
    if (sequences.length === 0 && !this.options.group) invalidArgument('sequences', 'a non-empty array');
    return await cancellable(options, (cancel) => this.handle.sftStep(packSequences(sequences), lr, { cancel }));
  }

  /**
   * Σ log π over each pair's chosen and rejected response under the current weights, without grad, run as a training
   * step runs them: taken before the first step, these are the log-probs of the reference model (a frozen copy of
   * the starting policy, equal to the first step's policy to the last bit), so no second copy of the model is
   * needed. With options.adapter false, a LoRA model's base alone scores them: the reference of a LoRA run.
   */
  async referenceLogprobs(
    pairs: readonly TrainingPair[],
    options: CallOptions & { adapter?: boolean } = {},
  ): Promise<ReferenceLogprobs> {
    return await cancellable(options, (cancel) =>
      this.handle.score(packSides(pairs), { adapter: options.adapter }, { cancel }),
    );
  }

  /** Writes the optimizer state (and a low-precision model's float32 masters) to `path` (safetensors). */
  async saveState(path: string, options: CallOptions = {}): Promise<void> {
    await cancellable(options, (cancel) => this.handle.saveState(path, { cancel }));
  }

  /**
   * Writes what is trained into `dir` from the trainer's float32 masters, so that a model computing in bfloat16 that
   * is saved in float32 keeps every update: the model as Model.save does (options.dtype, by default the dtype it was
   * loaded from), or a LoRA model's adapter as Model.saveAdapter does (default float32).
   */
  async saveModel(dir: string, options: SaveOptions = {}): Promise<void> {
    await writeModelDirectory(dir, options, (...args) => this.handle.saveModel(...args));
  }

  /** Restores what saveState wrote, exactly; ERR_GENIUS_BAD_FILE if it belongs to another model. */
  async loadState(path: string, options: CallOptions = {}): Promise<void> {
    await cancellable(options, (cancel) => this.handle.loadState(path, { cancel }));
  }

  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
