/**
 * genius-native: the public API for Node programs. The product: the Genius loop (in memory, or as a resumable run
 * directory), the model and tokenizer it runs on, the optimiser, evaluation, the data files it reads and writes,
 * and its errors. The building blocks that tests and benchmarks check one by one (losses, log-probs, safetensors,
 * the trainer's single steps, the re-sampling maths) are in the `genius-native/testing` subpath (lib/testing.ts).
 */
export { ErrorCode, GeniusError } from './errors';
export { version } from './version';
export { runtimeInfo, setThreads, type RuntimeInfo } from './runtime';
export type { CallOptions } from './async';
export { Tensor, type DType, type TensorData, type HostArray } from './tensor';

// The loop: in memory (Genius.run) and as a resumable run directory (runPipeline, what `genius-native train` runs).
export {
  Genius,
  type GeniusEvent,
  type GeniusRunEvent,
  type RunOptions,
  type ExploreProgress,
  type ExploreCallOptions,
} from './genius/genius';
export { type IterationEvent, type IterationStage } from './genius/iteration';
export {
  runPipeline,
  resolveRunSettings,
  evaluationFile,
  type PipelineOptions,
  type PipelineEvent,
  type RunSettings,
} from './genius/pipeline';
export {
  DEFAULT_EXPLORE_OPTIONS,
  STEP_SCORES,
  resolveExploreOptions,
  type ExploreOptions,
  type StepScore,
} from './genius/options';
export { STRATEGIES, type Strategy } from './genius/resampling';
export { REJECTED_SAMPLINGS, recordPairs, type RejectedSampling, type PairOptions } from './genius/pair-selection';
export { EMBEDDED_MODEL_DIR, EMBEDDED_QUERIES, EMBEDDED_TEST } from './embedded';

// The model and its text.
export {
  Model,
  KvCache,
  type LoadOptions,
  type InitOptions,
  type SaveOptions,
  type SamplingOptions,
  type GenerateOptions,
  type StepTokens,
  type Sample,
  type Generation,
  type FinishReason,
} from './model/model';
export type { ModelConfig } from './model/config';
export { DEFAULT_LORA, LORA_TARGETS, isAdapterDirectory, type LoraSettings, type LoraTarget } from './model/lora';
export {
  ENGINE_SAMPLING,
  readGenerationDefaults,
  resolveSampling,
  type SamplingSettings,
} from './model/generation-defaults';
export { Tokenizer, type ChatTemplateOptions } from './text/tokenizer';
export { type ChatMessage, type ChatTextPart } from './text/chat-messages';
export { type ChatTemplateArgs, type ResolvedChatTemplateArgs } from './text/chat-template-args';
export { chatPrompt, stepPrompt } from './text/steps';
export { stopStringMask, trimAtStop } from './text/stop-strings';
export { endOfResponseIds, responseText } from './genius/responses';

// Training.
export {
  optimize,
  supervisedFineTune,
  type TrainOptions,
  type CheckpointOptions,
  type StepMetrics,
} from './train/optimize';
export {
  DEFAULT_TRAIN_OPTIONS,
  DEFAULT_SFT_OPTIONS,
  DEFAULT_MAX_LENGTH,
  resolveTrainOptions,
  type TrainSettings,
} from './train/options';
export {
  EMBEDDED_PRESET,
  REFERENCE_PRESET,
  PRESETS,
  presetFor,
  type RunPreset,
  type PresetName,
} from './train/presets';
export {
  encodePairs,
  encodeSftExamples,
  type TrainingSequence,
  type TrainingPair,
  type EncodeOptions,
  type EncodeReport,
} from './train/sequences';
export type { PreferenceLossKind } from './train/preference-loss';

// Evaluation.
export { extractAnswer, truthAnswer, normalizeAnswer, answersMatch } from './eval/answer';
export {
  evaluate,
  evaluationReport,
  majorityAnswer,
  type EvaluateOptions,
  type EvaluateSettings,
  type EvaluationEvent,
  type EvaluationReport,
  type QueryResult,
  type Answer,
} from './eval/evaluate';
export { pairedBootstrap, type GainInterval, type BootstrapOptions } from './eval/bootstrap';

// Data files (docs/formats.md).
export {
  readQueries,
  readLabeledQueries,
  DEFAULT_QUERY_FIELDS,
  type Query,
  type LabeledQuery,
  type QueryId,
  type QueryFields,
} from './data/queries';
export { readDataset, type Dataset, type DatasetRow } from './data/dataset-file';
export { readRecords, parseRecord, type ExplorationRecord } from './data/records';
export { readPairs, parsePair, type PreferencePair, type ReadPairsOptions } from './data/pairs';
export { readSftExamples, type SftExample } from './data/sft-examples';
export {
  openExploreRun,
  RECORDS_FILE,
  SETTINGS_FILE,
  type ExploreRun,
  type ExploreSettings,
} from './genius/run-directory';
export { readTrainingState, type TrainingState } from './train/checkpoint';

// Scale-out: one run over many processes (torchrun's environment, libtorch's c10d engine).
export { readLaunchEnvironment, LAUNCH_VARIABLES, type LaunchEnvironment } from './dist/environment';
export { ProcessGroup, DEFAULT_DIST_TIMEOUT_SECONDS, type JoinOptions } from './dist/process-group';
