/**
 * LoRA adapters (PEFT's format: adapter_config.json + adapter_model.safetensors): the settings of a new one, with
 * their defaults in one place, and what a model directory or adapter directory holds. A model loaded with an adapter
 * computes W·x + scale·B·A·dropout(x) in each adapted projection without merging it (native/model/lora.h); training
 * it trains the adapter alone, its reference policy is the base model with the adapter off, and its checkpoints are
 * adapter directories that Python's `peft` loads.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '../errors';

/** The projections of a decoder layer that an adapter can adapt (PEFT's target_modules). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** A new adapter's settings (PEFT's LoraConfig r, lora_alpha, lora_dropout, target_modules, use_rslora). */
export interface LoraSettings {
  /** Rank r of A [r, in] and B [out, r]. */
  rank: number;
  /** The term's scale is alpha / rank (alpha / √rank with rslora). */
  alpha: number;
  /** Dropout on the adapter's input while training. */
  dropout: number;
  /** The projections adapted in every layer. */
  targets: readonly LoraTarget[];
  /** rsLoRA's scale alpha / √rank. */
  rslora: boolean;
  /** Seed of A's random initialisation (B starts at zero, so the adapted model starts as the base one). */
  seed: number;
}

/** The reference's trainer (open-instruct) with --use_lora: rank 64, alpha 16, dropout 0.1, every projection. */
export const DEFAULT_LORA: Readonly<LoraSettings> = Object.freeze({
  rank: 64,
  alpha: 16,
  dropout: 0.1,
  targets: LORA_TARGETS,
  rslora: false,
  seed: 0,
});

/** `given` over DEFAULT_LORA, each setting checked; `name` names the option in errors. */
export function resolveLora(given: Partial<LoraSettings>, name: string): LoraSettings {
  if (typeof given !== 'object' || given === null) invalidArgument(name, 'an object of LoRA settings');
  const settings: LoraSettings = { ...DEFAULT_LORA };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in DEFAULT_LORA))
      invalidArgument(`${name}.${key}`, `absent: the settings are ${Object.keys(DEFAULT_LORA).join(', ')}`);
    if (value !== undefined) (settings as unknown as Record<string, unknown>)[key] = value;
  }
  const { rank, alpha, dropout, targets, rslora, seed } = settings;
  if (!Number.isInteger(rank) || rank < 1) invalidArgument(`${name}.rank`, 'a positive integer');
  if (typeof alpha !== 'number' || !(alpha > 0)) invalidArgument(`${name}.alpha`, 'a positive number');
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) invalidArgument(`${name}.dropout`, 'in [0, 1)');
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => LORA_TARGETS.includes(t))) {
    invalidArgument(`${name}.targets`, `a non-empty list of ${LORA_TARGETS.join(', ')}`);
  }
  if (typeof rslora !== 'boolean') invalidArgument(`${name}.rslora`, 'a boolean');
  if (!Number.isInteger(seed) || seed < 0) invalidArgument(`${name}.seed`, 'a non-negative integer');
  return { ...settings, targets: [...new Set(targets)] };
}

/** The file that makes a directory a LoRA adapter. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

/** An adapter directory's weights: every A and B, named `base_model.model.<module>.lora_A.weight` (and lora_B). */
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** Whether `dir` holds a LoRA adapter rather than a whole model. */
export function isAdapterDirectory(dir: string): boolean {
  if (typeof dir !== 'string' || dir === '') invalidArgument('dir', 'a directory path');
  return existsSync(path.join(dir, ADAPTER_CONFIG_FILE));
}
