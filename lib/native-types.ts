/** The shape of the native addon's exports (native/addon.cc registers them). */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'bool';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: string;
  readonly nbytes: number;
  readonly disposed: boolean;
  toArray(): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  to(device: string, dtype: DType): NativeTensor;
  dispose(): void;
}

export interface NativeCancelToken {
  cancel(): void;
}

export interface AsyncOptions {
  cancel?: NativeCancelToken;
  onProgress?: (done: number, total: number) => void;
}

/** One op (aten::mm) or named phase (rollout.decode) of a profile: self time excludes what ran nested in it. */
export interface ProfileRow {
  name: string;
  calls: number;
  selfMs: number;
  totalMs: number;
}

export interface RuntimeInfo {
  torchVersion: string;
  torchBuiltAgainst: string;
  torchLoadedFrom: string;
  buildType: string;
  cudaKernels: boolean;
  torchHasCuda: boolean;
  cudaAvailable: boolean;
  devices: string[];
  threads: number;
  interopThreads: number;
  parallelInfo: string;
}

export interface NativeAddon {
  tensorFromData(data: ArrayBufferView, shape: number[], dtype: DType, device: string): NativeTensor;
  liveTensors(): number;
  CancelToken: new () => NativeCancelToken;
  info(): RuntimeInfo;
  setThreads(threads: number): void;
  matmulChain(a: NativeTensor, steps: number, options?: AsyncOptions): Promise<NativeTensor>;
  /** While on, every async native call runs under libtorch's profiler (native/profile). */
  setProfiling(on: boolean): void;
  /** The profile since the last call, largest self time first; resets it. */
  takeProfile(): ProfileRow[];
}

/** Options of native calls that read tensors from files. `dtype` converts floating-point tensors only. */
export interface NativeReadOptions extends AsyncOptions {
  device?: string;
  dtype?: DType;
}

/** A model's config.json (+ generation_config.json), as native/model/config.h parses it. */
export interface NativeModelConfig {
  modelType: 'llama' | 'qwen2' | 'qwen3' | 'mistral' | 'gemma3_text';
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  attentionBias: boolean;
  attentionOutputBias: boolean;
  mlpBias: boolean;
  /** Qwen3's RMSNorm over each head of q and k (self_attn.q_norm, k_norm) before RoPE. */
  qkNorm: boolean;
  /** Gemma 3: norms scale by 1 + weight; attention and MLP outputs are normed as well as their inputs. */
  normPlusOne: boolean;
  sandwichNorms: boolean;
  /** Embeddings are multiplied by this (Gemma: sqrt(hidden_size)); 1 elsewhere. */
  embedScale: number;
  /** The MLP gate's activation. */
  activation: 'silu' | 'gelu_pytorch_tanh';
  /** Softmax scale of q·k: 1/sqrt(head_dim), or Gemma's 1/sqrt(query_pre_attn_scalar). */
  attentionScale: number;
  /** Gemma 3: the sliding layers' own RoPE base; null elsewhere. */
  slidingRopeTheta: number | null;
  tieWordEmbeddings: boolean;
  ropeScaling: {
    type: 'linear' | 'llama3' | 'yarn';
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalMaxPositions: number;
    /** YaRN only: the ramp's rotation bounds, whether its ends are whole dimensions, and the cos/sin scale. */
    betaFast?: number;
    betaSlow?: number;
    truncate?: boolean;
    attentionFactor?: number;
  } | null;
  eosTokenIds: number[];
  bosTokenId: number | null;
  padTokenId: number | null;
  slidingWindow: number | null;
  /** Per layer: whether slidingWindow limits its attention (Qwen2/Qwen3 layer_types may mix both kinds). */
  slidingLayers: boolean[];
  torchDtype: 'float32' | 'float16' | 'bfloat16' | 'float64';
}

// Model file I/O (native/js/model_file_bindings.cc), merged into NativeAddon above.
export interface NativeAddon {
  readSafetensors(path: string, options?: NativeReadOptions): Promise<Record<string, NativeTensor>>;
  readSafetensorsMetadata(path: string): Record<string, string>;
  writeSafetensors(
    path: string,
    tensors: Record<string, NativeTensor>,
    metadata?: Record<string, string>,
    options?: AsyncOptions,
  ): Promise<void>;
  readModelConfig(dir: string): NativeModelConfig;
  loadModelWeights(dir: string, options?: NativeReadOptions): Promise<Record<string, NativeTensor>>;
  saveModelWeights(
    dir: string,
    weights: Record<string, NativeTensor>,
    configDir: string,
    options?: AsyncOptions & { shardBytes?: number },
  ): Promise<void>;
}

// Training losses (native/js/loss_bindings.cc), merged into NativeAddon above.
export type PreferenceLossKind = 'aco' | 'dpo' | 'ipo' | 'simpo' | 'ropo' | 'sft';

/** The per-pair log-prob inputs that a preference loss can differentiate, in the order of its gradients. */
export type PreferenceLogprobKey =
  | 'policyChosen'
  | 'policyRejected'
  | 'referenceChosen'
  | 'referenceRejected'
  | 'policyChosenMean'
  | 'policyRejectedMean';

/** Per-pair tensors [B], one dtype and device; which are required depends on the loss (see lib/train). */
export type NativePreferenceInputs = Partial<
  Record<PreferenceLogprobKey | 'chosenAdvantage' | 'rejectedAdvantage', NativeTensor>
>;

export interface PreferenceLossOptions {
  /** Default 'aco'. */
  loss?: PreferenceLossKind;
  /** β, default 0.1. */
  beta?: number;
  /** ACO's α, default 1. */
  alpha?: number;
  /** log πref := 0. Default false. */
  referenceFree?: boolean;
  /** ACO weight clip: 'paper' min(1, ·) (default) or 'reference-code' max(1, ·). */
  acoWeight?: 'paper' | 'reference-code';
  /**
   * λ of an NLL term on the chosen side added to the loss, λ·(−mean log πθ(T_w)) (RPO); reads policyChosenMean.
   * Default 0, as the reference.
   */
  nllWeight?: number;
}

export interface NativePreferenceLoss {
  losses: NativeTensor;
  chosenRewards: NativeTensor;
  rejectedRewards: NativeTensor;
  loss: number;
  accuracy: number;
  margin: number;
}

export interface NativePreferenceLossWithGrad extends NativePreferenceLoss {
  grads: Partial<Record<PreferenceLogprobKey, NativeTensor>>;
}

export interface NativeLogprobOptions extends AsyncOptions {
  vocabChunk?: number;
  keptLogits?: number;
  gradOutput?: NativeTensor;
}

export interface NativeLogprobsWithGrad {
  logprobs: NativeTensor;
  gradHidden: NativeTensor;
  gradWeight: NativeTensor;
}

/** A finite-difference check of a native backward (float64). */
export interface GradientCheck {
  maxAbsoluteError: number;
  maxNumericGradient: number;
}

/** Checks exported for tests only, under `testing`; other modules may merge theirs in. */
/** One decode step's draw (testing.sampleTokens): the tokens, and their log-probs under the model's own logits. */
export interface NativeDraw {
  tokens: NativeTensor;
  logprobs: NativeTensor;
}

export interface NativeTesting {
  /**
   * One draw per row of float32 logits [rows, vocab] through the ATen sampler or the CUDA kernel. `previous` (one
   * token-id array per row) is what each row has seen, wanted when repetitionPenalty is not 1.
   */
  sampleTokens(
    logits: NativeTensor,
    options: {
      temperature: number;
      topP: number;
      topK: number;
      minP?: number;
      repetitionPenalty?: number;
      previous?: number[][];
      seed: number;
      step: number;
    },
    path: 'aten' | 'kernel',
  ): NativeDraw;
  /** The logits after the repetition penalty on the tokens each row of `previous` has seen. */
  penalizeRepetition(logits: NativeTensor, previous: number[][], penalty: number): NativeTensor;
  preferenceLossGradientError(inputs: NativePreferenceInputs, options?: PreferenceLossOptions): GradientCheck;
  sequenceLogprobsGradientError(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    chunk: number,
    options?: NativeLogprobOptions,
  ): GradientCheck;
}

export interface NativeAddon {
  preferenceLoss(inputs: NativePreferenceInputs, options?: PreferenceLossOptions): NativePreferenceLoss;
  preferenceLossWithGrad(inputs: NativePreferenceInputs, options?: PreferenceLossOptions): NativePreferenceLossWithGrad;
  sequenceLogprobs(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    chunk: number,
    options?: NativeLogprobOptions,
  ): Promise<NativeTensor>;
  sequenceLogprobsWithGrad(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    chunk: number,
    options?: NativeLogprobOptions,
  ): Promise<NativeLogprobsWithGrad>;
  reduceTokenLogprobs(tokenLogprobs: NativeTensor, mask: NativeTensor): { sum: NativeTensor; mean: NativeTensor };
  testing: NativeTesting;
}

// The LLM engine (native/js/model_handle.cc), merged into NativeAddon above.
/** How a generate call samples and when its samples stop. */
export interface SamplingOptions {
  /** Samples per prompt (or per continued row). Default 1. */
  n?: number;
  maxNewTokens: number;
  /** 0 is greedy. Default 1. */
  temperature?: number;
  topP?: number;
  /** 0 disables. */
  topK?: number;
  /** In [0, 1]: leaves out the tokens less likely than minP × the most likely one (after temperature). 0 disables. */
  minP?: number;
  /**
   * > 0: divides the logit of each token its sample has seen (prompt or drawn; multiplies a negative one), as
   * transformers' repetition_penalty does, before temperature and the filters; greedy decoding applies it too. The
   * reported log-probs stay the model's own. Default 1 (off).
   */
  repetitionPenalty?: number;
  seed?: number;
  /**
   * One seed per sample (inputs × n, input by input): each sample then draws from a random stream of its own, so
   * that it samples the same tokens whatever else shares the call. Default: the call's samples share `seed`'s.
   */
  sampleSeeds?: number[];
  /** Default: the model's eos ids (generation_config.json merged with config.json). */
  eosTokenIds?: number[];
  /** Per vocabulary token: 1 where its text contains a stop string (see stopStringMask). */
  stopTokenMask?: Uint8Array;
  stopSequences?: number[][];
  /** Keep the final KV cache (one row per sample) so that samples can be continued later. */
  keepCache?: boolean;
}

export interface NativeGenerateRequest extends SamplingOptions {
  prompts?: (number[] | Int32Array)[];
  cache?: NativeKvCache;
  rows?: number[];
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface NativeSample {
  input: number;
  tokens: Int32Array;
  logprobs: Float32Array;
  logprobSum: number;
  finishReason: FinishReason;
}

/**
 * The tokens one decode step drew, as they are drawn: draw i appended tokens[i], of log-prob logprobs[i], to sample
 * samples[i] (an index into the call's samples), in increasing sample order. Every sample of a call starts at the
 * same step, so each is token `step` of its sample. `finished` names the samples that this step's draw ended (a
 * continued sample left no position to draw in ends empty, in no step).
 */
export interface StepTokens {
  step: number;
  samples: Int32Array;
  tokens: Int32Array;
  logprobs: Float32Array;
  finished: { sample: number; finishReason: FinishReason }[];
}

export interface NativeGenerateOptions extends AsyncOptions {
  /** Called once per decode step, all calls before the Promise settles; a listener that throws is ignored. */
  onTokens?: (step: StepTokens) => void;
}

export interface NativeGenerateResult {
  samples: NativeSample[];
  computedTokens: number;
  cache?: NativeKvCache;
}

export interface NativeKvCache {
  readonly rows: number;
  dispose(): void;
}

export interface NativeModelDescription {
  device: string;
  dtype: DType;
  parameters: number;
  vocabSize: number;
  maxPositions: number;
  eosTokenIds: number[];
  /** The LoRA adapter's settings and size, when the model has one. */
  adapter?: NativeAdapterDescription;
}

export interface NativeAdapterDescription {
  rank: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targets: string[];
  parameters: number;
}

/** How loadModel / initModel give a model a LoRA adapter: a directory, or a new one's settings. */
export interface NativeAdapterOptions {
  adapter?: string;
  lora?: { rank: number; alpha: number; dropout: number; targets: readonly string[]; rslora: boolean; seed: number };
}

export interface NativeModel {
  generate(request: NativeGenerateRequest, options?: NativeGenerateOptions): Promise<NativeGenerateResult>;
  logits(tokens: number[] | Int32Array, options?: AsyncOptions): Promise<NativeTensor>;
  describe(): NativeModelDescription;
  dispose(): void;
}

export interface NativeAddon {
  loadModel(
    dir: string,
    options?: { device?: string; dtype?: DType } & NativeAdapterOptions,
    asyncOptions?: AsyncOptions,
  ): Promise<NativeModel>;
}

// Training (native/js/trainer_handle.cc, native/js/model_handle.cc), merged into NativeAddon above.
/** Sequences in one flat buffer: sequence i is the next lengths[i] tokens, its first promptLengths[i] the prompt. */
export interface NativeSequences {
  tokens: Int32Array;
  lengths: Int32Array;
  promptLengths: Int32Array;
}

export interface NativeTrainerOptions extends PreferenceLossOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 0: no clipping. */
  maxGradNorm?: number;
  microBatch?: number;
  vocabChunk?: number;
  autocastBf16?: boolean;
  checkpointLayers?: boolean;
  /** Data parallelism over the group's ranks. */
  group?: NativeProcessGroup;
  /** ZeRO-1 over the group's ranks. */
  shardOptimizer?: boolean;
}

export interface NativePreferenceBatch {
  chosen: NativeSequences;
  rejected: NativeSequences;
  referenceChosen?: Float64Array;
  referenceRejected?: Float64Array;
  chosenAdvantage?: Float64Array;
  rejectedAdvantage?: Float64Array;
}

export interface NativeStepMetrics {
  loss: number;
  chosenReward: number;
  rejectedReward: number;
  accuracy: number;
  margin: number;
  gradNorm: number;
  examples: number;
  tokens: number;
}

export interface NativeTrainer {
  preferenceStep(batch: NativePreferenceBatch, lr: number, options?: AsyncOptions): Promise<NativeStepMetrics>;
  sftStep(sequences: NativeSequences, lr: number, options?: AsyncOptions): Promise<NativeStepMetrics>;
  score(
    batch: { chosen: NativeSequences; rejected: NativeSequences },
    options?: { adapter?: boolean },
    asyncOptions?: AsyncOptions,
  ): Promise<{ chosen: Float64Array; rejected: Float64Array }>;
  saveState(path: string, options?: AsyncOptions): Promise<void>;
  saveModel(dir: string, options?: { shardBytes?: number; dtype?: DType }, asyncOptions?: AsyncOptions): Promise<void>;
  loadState(path: string, options?: AsyncOptions): Promise<void>;
  dispose(): void;
}

export interface NativeModel {
  save(dir: string, options?: { shardBytes?: number; dtype?: DType }, asyncOptions?: AsyncOptions): Promise<void>;
  saveAdapter(dir: string, options?: { dtype?: DType }, asyncOptions?: AsyncOptions): Promise<void>;
}

export interface NativeAddon {
  initModel(
    dir: string,
    options?: { seed?: number; device?: string; dtype?: DType } & NativeAdapterOptions,
    asyncOptions?: AsyncOptions,
  ): Promise<NativeModel>;
  createTrainer(
    model: NativeModel,
    options?: NativeTrainerOptions,
    asyncOptions?: AsyncOptions,
  ): Promise<NativeTrainer>;
}

/** createProcessGroup's options: the launch environment's numbers and how long any wait may last. */
export interface NativeGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Whether this rank hosts the store; default: rank 0. */
  hostStore?: boolean;
  /** Where the run's keys go in the store. */
  storePrefix: string;
  timeoutMs: number;
  /** 'cpu' (Gloo) or 'cuda:N' (NCCL). */
  device?: string;
}

export interface NativeProcessGroup {
  readonly rank: number;
  readonly size: number;
  allReduce(tensors: NativeTensor[]): Promise<void>;
  broadcast(tensor: NativeTensor, root: number): Promise<void>;
  allGather(tensor: NativeTensor): Promise<NativeTensor[]>;
  allGatherBytes(bytes: Uint8Array): Promise<Uint8Array[]>;
  barrier(): Promise<void>;
  dispose(): void;
}

export interface NativeAddon {
  createProcessGroup(options: NativeGroupOptions, asyncOptions?: AsyncOptions): Promise<NativeProcessGroup>;
}
