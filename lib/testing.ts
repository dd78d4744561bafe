/**
 * genius-native/testing: the building blocks under the product API (lib/index.ts), exported for the tests and
 * benchmarks that check each against its Python reference: native test ops, tensor accounting, safetensors and
 * weights I/O, the preference losses and log-probs one call at a time, the trainer's single steps, the schedule,
 * the re-sampling maths and the step-prompt text. Not needed to run Genius; may change between minor versions.
 */
export { matmulChain } from './runtime';
export { liveTensors } from './tensor';
export {
  readSafetensors,
  readSafetensorsMetadata,
  writeSafetensors,
  type ReadTensorsOptions,
} from './model/safetensors';
export { readModelConfig } from './model/config';
export { loadModelWeights, saveModelWeights, type SaveWeightsOptions } from './model/weights';
export {
  preferenceLoss,
  preferenceLossWithGrad,
  type PreferencePairs,
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
export { Trainer, type TrainerOptions, type StepResult, type ReferenceLogprobs } from './train/trainer';
export { linearWarmupRate, epochOrder } from './train/schedule';
export { softmax, selectCandidates } from './genius/resampling';
export { rejectionProbabilities } from './genius/pair-selection';
export { queryKey } from './genius/genius';
export { geniusIteration } from './genius/iteration';
export { STEP_PREAMBLE, splitSteps, joinSteps, encodeStepPrompt } from './text/steps';
