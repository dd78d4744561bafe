/**
 * Model: a Hugging Face model directory (Llama, Qwen2, Mistral families) loaded into libtorch, and
 * its batched rollout engine. Every call does a whole batch natively on a worker thread.
 */
import { cancellable, type CallOptions } from '../async';
import { checkOutputDirectory, makeDirectory } from '../data/output-directory';
import { ErrorCode, GeniusError, invalidArgument } from '../errors';
import { native } from '../native';
import type {
  DType,
  FinishReason,
  NativeGenerateRequest,
  NativeKvCache,
  NativeModel,
  NativeModelDescription,
  SamplingOptions,
  StepTokens,
} from '../native-types';
import { Tensor } from '../tensor';
import { readModelConfig, type ModelConfig } from './config';
import { resolveLora, type LoraSettings } from './lora';

export type { FinishReason, SamplingOptions, StepTokens } from '../native-types';

export interface LoadOptions extends CallOptions {
  device?: string;
  /**
   * The dtype the model computes in (its weights are converted to it). Default: the dtype its weights file
   * stores them in, whatever config.json's torch_dtype says; saving writes that dtype back (see SaveOptions).
   */
  dtype?: DType;
  /** A LoRA adapter directory (PEFT's format) to compute with, unmerged. */
  adapter?: string;
  /** A new LoRA adapter with these settings (defaults: DEFAULT_LORA), to be trained. Not with `adapter`. */
  lora?: Partial<LoraSettings>;
}

export interface InitOptions extends LoadOptions {
  /** Seed of the random weights. Default 0. */
  seed?: number;
}

export interface SaveOptions extends CallOptions {
  /** Largest safetensors shard in bytes; past it the weights are split with an index. 0 or absent: one file. */
  shardBytes?: number;
  /** Dtype of the written weights. Default: the one the model was loaded from, whatever it computes in. */
  dtype?: DType;
}

export interface Sample {
  /** Index of the prompt (or continued row) this sample extends. */
  input: number;
  tokens: Int32Array;
  /** Each token's log-prob under the model's untempered distribution. */
  logprobs: Float32Array;
  logprobSum: number;
  finishReason: FinishReason;
}

export interface GenerateOptions extends SamplingOptions, CallOptions {
  /**
   * Streams the call: called once per decode step, in order, with the tokens drawn in it (which sample, which token,
   * its log-prob, and the samples it finished). The engine does not wait for it: it runs on the JS thread while the
   * next steps run. Every call comes before the Promise settles, and together they hold exactly the final samples'
   * tokens and log-probs. Without it a call gathers nothing per step. An error it throws is ignored.
   */
  onTokens?: (step: StepTokens) => void;
}

export interface Generation {
  /** Input-major: input i's n samples are samples[i*n .. (i+1)*n). */
  samples: Sample[];
  /** Tokens actually run through the model (prompt prefill once per prompt, then decode). */
  computedTokens: number;
  cache?: KvCache;
}

/** The kept KV cache of a generation: row r holds sample r, ready to be continued. */
export class KvCache implements Disposable {
  /** @internal */
  constructor(readonly handle: NativeKvCache) {}
  get rows(): number {
    return this.handle.rows;
  }
  dispose(): void {
    this.handle.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * @internal How every model directory is written (Model.save, Trainer.saveModel): `dir` checked and made first,
 * then `write`, a native save, with the options' shard size and dtype.
 */
export async function writeModelDirectory(
  dir: string,
  options: SaveOptions,
  write: NativeModel['save'],
): Promise<void> {
  await checkOutputDirectory(dir, 'dir');
  await makeDirectory(dir);
  await cancellable(options, (cancel) =>
    write(dir, { shardBytes: options.shardBytes, dtype: options.dtype }, { cancel, onProgress: options.onProgress }),
  );
}

/** What loadModel / initModel take of LoadOptions: the placement and the adapter. */
function nativeLoadOptions(options: LoadOptions): {
  device?: string;
  dtype?: DType;
  adapter?: string;
  lora?: LoraSettings;
} {
  if (options.adapter !== undefined && options.lora !== undefined) {
    invalidArgument('options.adapter', 'not given with options.lora (load an adapter, or make a new one)');
  }
  return {
    device: options.device,
    dtype: options.dtype,
    adapter: options.adapter,
    lora: options.lora === undefined ? undefined : resolveLora(options.lora, 'options.lora'),
  };
}

export class Model implements Disposable {
  private constructor(
    private readonly handle: NativeModel,
    /** The model directory (of the base model, when there is an adapter). */
    readonly dir: string,
    readonly config: ModelConfig,
    /** The directory of the LoRA adapter loaded with it, if one was. */
    readonly adapterDir?: string,
  ) {}

  static async load(dir: string, options: LoadOptions = {}): Promise<Model> {
    const config = readModelConfig(dir);
    const load = nativeLoadOptions(options);
    const handle = await cancellable(options, (cancel) =>
      native().loadModel(dir, load, { cancel, onProgress: options.onProgress }),
    );
    return new Model(handle, dir, config, options.adapter);
  }

  /**
   * A new model of `dir`/config.json with transformers' random initialisation: weights from
   * normal(0, initializer_range), biases 0, norms 1 (see native/model/initialization.h).
   */
  static async init(dir: string, options: InitOptions = {}): Promise<Model> {
    const config = readModelConfig(dir);
    const load = nativeLoadOptions(options);
    const handle = await cancellable(options, (cancel) =>
      native().initModel(dir, { ...load, seed: options.seed }, { cancel }),
    );
    return new Model(handle, dir, config, options.adapter);
  }

  /** @internal The native handle of `model`, for native calls that take a model. */
  static handleOf(model: unknown, name: string): NativeModel {
    if (!(model instanceof Model))
      throw new GeniusError(
        ErrorCode.InvalidHandle,
        `argument '${typeof name === 'string' ? name : 'model'}' is not a Model`,
      );
    return model.handle;
  }

  describe(): NativeModelDescription {
    return this.handle.describe();
  }

  /** The settings of the model's LoRA adapter; undefined when it has none. */
  get adapter(): NativeModelDescription['adapter'] {
    return this.handle.describe().adapter;
  }

  /** Samples continuations of each prompt (token ids). */
  async generate(prompts: (number[] | Int32Array)[], options: GenerateOptions): Promise<Generation> {
    if (!Array.isArray(prompts)) invalidArgument('prompts', 'an array of token-id arrays');
    return this.run({ ...this.request(options), prompts }, options);
  }

  /** Continues rows of a kept cache: each row's samples extend that row's tokens. */
  async continue(cache: KvCache, rows: number[], options: GenerateOptions): Promise<Generation> {
    if (!(cache instanceof KvCache)) invalidArgument('cache', 'a KvCache from generate({ keepCache: true })');
    return this.run({ ...this.request(options), cache: cache.handle, rows }, options);
  }

  /** Logits [tokens.length, vocab] (float32) of one sequence, for scoring and parity checks. */
  async logits(tokens: number[] | Int32Array, options: CallOptions = {}): Promise<Tensor> {
    return Tensor.fromNative(await cancellable(options, (cancel) => this.handle.logits(tokens, { cancel })));
  }

  /**
   * Writes config.json and the current weights (model.safetensors, or shards and their index) into `dir` (made
   * if missing), in options.dtype, by default the dtype the model was loaded from; a model with a LoRA adapter is
   * written with the adapter merged in (PEFT's merge_and_unload). Waits for a training step in progress to end (see
   * Trainer).
   */
  async save(dir: string, options: SaveOptions = {}): Promise<void> {
    await writeModelDirectory(dir, options, (...args) => this.handle.save(...args));
  }

  /**
   * Writes the model's LoRA adapter into `dir` (made if missing) in PEFT's format, in options.dtype (default
   * float32). ERR_GENIUS_INVALID_ARG when the model has none.
   */
  async saveAdapter(dir: string, options: SaveOptions = {}): Promise<void> {
    if (this.adapter === undefined) invalidArgument('this', 'a model with a LoRA adapter');
    await writeModelDirectory(dir, options, (...args) => this.handle.saveAdapter(...args));
  }

  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private request(options: SamplingOptions): Omit<NativeGenerateRequest, 'prompts' | 'cache' | 'rows'> {
    const { n, maxNewTokens, temperature, topP, topK, minP, repetitionPenalty, seed, sampleSeeds } = options;
    const { eosTokenIds, stopTokenMask, stopSequences, keepCache } = options;
    return {
      n,
      maxNewTokens,
      temperature,
      topP,
      topK,
      minP,
      repetitionPenalty,
      seed,
      sampleSeeds,
      eosTokenIds,
      stopTokenMask,
      stopSequences,
      keepCache,
    };
  }

  private async run(request: NativeGenerateRequest, options: GenerateOptions): Promise<Generation> {
    const result = await cancellable(options, (cancel) =>
      this.handle.generate(request, { cancel, onProgress: options.onProgress, onTokens: options.onTokens }),
    );
    return { ...result, cache: result.cache && new KvCache(result.cache) };
  }
}
