/**
 * Preference losses over per-pair sequence log-probs: ACO, Genius's advantage-calibrated loss (the default),
 * and DPO, IPO, SimPO, ROPO and SFT from the paper's ablation. Each is a native autograd Function with an
 * explicit backward (native/train/preference_loss.cc); formulas and sources are in its comments.
 */
import { invalidArgument } from '../errors';
import { native } from '../native';
import type {
  NativePreferenceInputs,
  NativePreferenceLoss,
  NativeTensor,
  PreferenceLogprobKey,
  PreferenceLossOptions,
} from '../native-types';
import { Tensor } from '../tensor';

export type { PreferenceLossKind, PreferenceLogprobKey, PreferenceLossOptions } from '../native-types';

/**
 * One value per pair (tensors [B], one floating dtype and device). Sums are over the response tokens only.
 * Every loss reads policyChosen/policyRejected (rewards); the reference sums unless `referenceFree`;
 * SimPO the two means, SFT the chosen mean; ACO the advantages A_w, A_l.
 */
export interface PreferencePairs {
  policyChosen: Tensor;
  policyRejected: Tensor;
  referenceChosen?: Tensor;
  referenceRejected?: Tensor;
  policyChosenMean?: Tensor;
  policyRejectedMean?: Tensor;
  chosenAdvantage?: Tensor;
  rejectedAdvantage?: Tensor;
}

export interface PreferenceLossResult extends Disposable {
  /** [B] per-pair losses. */
  losses: Tensor;
  /** [B] β·(log πθ − log πref) of the chosen responses. */
  chosenRewards: Tensor;
  /** [B] β·(log πθ − log πref) of the rejected responses. */
  rejectedRewards: Tensor;
  /** Mean of `losses`. */
  loss: number;
  /** Share of pairs whose chosen reward exceeds the rejected one. */
  accuracy: number;
  /** Mean of chosen − rejected reward. */
  margin: number;
}

export interface PreferenceLossWithGradResult extends PreferenceLossResult {
  /** d(mean loss)/d(input) for each log-prob input given (zeros for one the loss does not read). */
  grads: Partial<Record<PreferenceLogprobKey, Tensor>>;
}

const INPUT_KEYS = [
  'policyChosen',
  'policyRejected',
  'referenceChosen',
  'referenceRejected',
  'policyChosenMean',
  'policyRejectedMean',
  'chosenAdvantage',
  'rejectedAdvantage',
] as const;

function inputHandles(pairs: PreferencePairs): NativePreferenceInputs {
  if (typeof pairs !== 'object' || pairs === null) invalidArgument('inputs', 'an object of per-pair tensors');
  const handles: NativePreferenceInputs = {};
  for (const key of INPUT_KEYS) {
    const value = pairs[key];
    if (value !== undefined) handles[key] = Tensor.handleOf(value, `inputs.${key}`);
  }
  return handles;
}

function disposeAll(tensors: Iterable<Tensor>): void {
  for (const tensor of tensors) tensor.dispose();
}

function adopt(result: NativePreferenceLoss, extra: Tensor[] = []): PreferenceLossResult {
  const losses = Tensor.fromNative(result.losses);
  const chosenRewards = Tensor.fromNative(result.chosenRewards);
  const rejectedRewards = Tensor.fromNative(result.rejectedRewards);
  const { loss, accuracy, margin } = result;
  return {
    losses,
    chosenRewards,
    rejectedRewards,
    loss,
    accuracy,
    margin,
    [Symbol.dispose]: () => disposeAll([losses, chosenRewards, rejectedRewards, ...extra]),
  };
}

/** The per-pair losses, rewards and reward metrics of `options.loss` (default ACO with the paper's weight). */
export function preferenceLoss(pairs: PreferencePairs, options: PreferenceLossOptions = {}): PreferenceLossResult {
  return adopt(native().preferenceLoss(inputHandles(pairs), options));
}

/**
 * The same, plus the gradients of the mean loss w.r.t. the log-prob inputs, through the native backward
 * (the inputs themselves are left untouched). For tests and diagnostics; training differentiates natively.
 */
export function preferenceLossWithGrad(
  pairs: PreferencePairs,
  options: PreferenceLossOptions = {},
): PreferenceLossWithGradResult {
  const result = native().preferenceLossWithGrad(inputHandles(pairs), options);
  const grads: Partial<Record<PreferenceLogprobKey, Tensor>> = {};
  for (const [key, handle] of Object.entries(result.grads) as [PreferenceLogprobKey, NativeTensor][]) {
    grads[key] = Tensor.fromNative(handle);
  }
  return { ...adopt(result, Object.values(grads)), grads };
}
