/** genius-native: the public API for Node programs. */
export { ErrorCode, GeniusError } from './errors';
export { Tensor, liveTensors, type DType, type TensorData, type HostArray } from './tensor';
export { runtimeInfo, setThreads, matmulChain, type RuntimeInfo } from './runtime';
export type { CallOptions } from './async';
export { version } from './version';
export { Tokenizer, type ChatMessage } from './text/tokenizer';
export { stopStringMask, trimAtStop } from './text/stop-strings';
export { STEP_PREAMBLE, splitSteps, joinSteps, stepPrompt, chatPrompt, encodeStepPrompt } from './text/steps';
export {
  readSafetensors,
  readSafetensorsMetadata,
  writeSafetensors,
  type ReadTensorsOptions,
} from './model/safetensors';
export { readModelConfig, type ModelConfig } from './model/config';
export { loadModelWeights, saveModelWeights, type SaveWeightsOptions } from './model/weights';
export {
  preferenceLoss,
  preferenceLossWithGrad,
  type PreferencePairs,
  type PreferenceLossKind,
  type PreferenceLossOptions,
  type PreferenceLossResult,
  type PreferenceLossWithGradResult,
} from './train/preference-loss';
export {
  sequenceLogprobs,
  sequenceLogprobsWithGrad,
  reduceTokenLogprobs,
  type SequenceLogprobOptions,
  type SequenceLogprobGradOptions,
  type SequenceLogprobsWithGrad,
} from './train/logprobs';
export {
  Model,
  KvCache,
  type LoadOptions,
  type SamplingOptions,
  type Sample,
  type Generation,
  type FinishReason,
} from './model/model';
export { endOfResponseIds, responseText } from './genius/responses';
export { readQueries, readLabeledQueries, type Query, type LabeledQuery, type QueryId } from './data/queries';
export { readRecords, parseRecord, type ExplorationRecord } from './data/records';
export {
  Genius,
  queryKey,
  type GeniusEvent,
  type GeniusRunEvent,
  type RunOptions,
  type ExploreProgress,
  type ExploreCallOptions,
} from './genius/genius';
export {
  DEFAULT_EXPLORE_OPTIONS,
  STEP_SCORES,
  resolveExploreOptions,
  type ExploreOptions,
  type StepScore,
} from './genius/options';
export { STRATEGIES, softmax, selectCandidates, type Strategy } from './genius/resampling';
export {
  REJECTED_SAMPLINGS,
  recordPairs,
  rejectionProbabilities,
  type RejectedSampling,
  type PairOptions,
} from './genius/pair-selection';
export {
  openExploreRun,
  RECORDS_FILE,
  SETTINGS_FILE,
  type ExploreRun,
  type ExploreSettings,
} from './genius/run-directory';
export { extractAnswer, normalizeAnswer, answersMatch } from './eval/answer';
export {
  evaluate,
  evaluationReport,
  majorityAnswer,
  type EvaluateOptions,
  type EvaluationEvent,
  type EvaluationReport,
  type QueryResult,
  type Answer,
} from './eval/evaluate';
export { readPairs, parsePair, type PreferencePair, type ReadPairsOptions } from './data/pairs';
export { readSftExamples, type SftExample } from './data/sft-examples';
export {
  encodePairs,
  encodeSftExamples,
  type TrainingSequence,
  type TrainingPair,
  type EncodeOptions,
  type EncodeReport,
} from './train/sequences';
export { Trainer, type TrainerOptions, type StepResult, type ReferenceLogprobs } from './train/trainer';
export {
  optimize,
  supervisedFineTune,
  type TrainOptions,
  type CheckpointOptions,
  type StepMetrics,
} from './train/optimize';
export { EMBEDDED_PRESET, REFERENCE_PRESET, type RunPreset } from './train/presets';
export { pairedBootstrap, type GainInterval, type BootstrapOptions } from './eval/bootstrap';
export { linearWarmupRate, epochOrder } from './train/schedule';
export { readTrainingState, type TrainingState } from './train/checkpoint';
export type { InitOptions, SaveOptions } from './model/model';
