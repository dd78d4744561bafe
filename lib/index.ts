/** genius-native: the public API for Node programs. */
export { ErrorCode, GeniusError } from './errors';
export { Tensor, liveTensors, type DType, type TensorData, type HostArray } from './tensor';
export { runtimeInfo, setThreads, matmulChain, type RuntimeInfo } from './runtime';
export type { CallOptions } from './async';
export { version } from './version';
export { Tokenizer, type ChatMessage } from './text/tokenizer';
export { stopStringMask, trimAtStop } from './text/stop-strings';
export { STEP_PREAMBLE, splitSteps, joinSteps, stepPrompt } from './text/steps';
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
export { Model, KvCache, type LoadOptions, type SamplingOptions, type Sample, type Generation, type FinishReason } from './model/model';
