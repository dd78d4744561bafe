/**
 * The sampling settings a model directory recommends in generation_config.json (temperature, top_p, top_k, min_p,
 * repetition_penalty): what `generate` and the server sample with when the user names none, as vLLM and
 * transformers' generate() take them (Qwen2.5-Instruct ships 0.7 / 0.8 / 20 and a repetition penalty of 1.05, Llama 3
 * 0.6 / 0.9). The library's Model.generate does not apply them, and neither does Genius: its stages set their own
 * temperatures, as the method defines them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { badFile, invalidArgument } from '../errors';

export interface SamplingSettings {
  /** 0 is greedy. */
  temperature: number;
  topP: number;
  /** 0 disables. */
  topK: number;
  /** Leaves out the tokens less likely than minP × the most likely one; 0 disables. */
  minP: number;
  /** Divides the logit of each token seen before (multiplies a negative one), as transformers does; 1 disables. */
  repetitionPenalty: number;
}

/** Each setting: its name in generation_config.json, the engine's default, and the values it takes. */
const SETTINGS: Readonly<
  Record<keyof SamplingSettings, { field: string; engine: number; valid: (value: number) => boolean; expected: string }>
> = {
  temperature: { field: 'temperature', engine: 1, valid: (value) => value >= 0, expected: 'a number >= 0' },
  topP: { field: 'top_p', engine: 1, valid: (value) => value > 0 && value <= 1, expected: 'a number in (0, 1]' },
  topK: {
    field: 'top_k',
    engine: 0,
    valid: (value) => Number.isInteger(value) && value >= 0,
    expected: 'an integer >= 0',
  },
  minP: { field: 'min_p', engine: 0, valid: (value) => value >= 0 && value <= 1, expected: 'a number in [0, 1]' },
  repetitionPenalty: { field: 'repetition_penalty', engine: 1, valid: (value) => value > 0, expected: 'a number > 0' },
};

const KEYS = Object.keys(SETTINGS) as (keyof SamplingSettings)[];

const validValue = (key: keyof SamplingSettings, value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && SETTINGS[key].valid(value);

/** The engine's own defaults: the model's distribution as it is. */
export const ENGINE_SAMPLING: Readonly<SamplingSettings> = Object.freeze(
  Object.fromEntries(KEYS.map((key) => [key, SETTINGS[key].engine])) as unknown as SamplingSettings,
);

/** Each sampling setting that `dir`'s generation_config.json sets, checked. */
export function readGenerationDefaults(dir: string): Partial<SamplingSettings> {
  if (typeof dir !== 'string') invalidArgument('dir', 'a model directory path');
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    badFile(file, `is not JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) badFile(file, 'is not a JSON object');
  const config = json as Record<string, unknown>;
  const defaults: Partial<SamplingSettings> = {};
  for (const key of KEYS) {
    const { field, expected } = SETTINGS[key];
    const value = config[field];
    if (value === undefined || value === null) continue;
    if (!validValue(key, value)) badFile(file, `field '${field}' must be ${expected}`);
    defaults[key] = value;
  }
  return defaults;
}

/**
 * What a request samples with: what it names, else the model's recommendation, else the engine's default. What it
 * names is checked, named as the library names it.
 */
export function resolveSampling(
  given: Partial<SamplingSettings>,
  recommended: Partial<SamplingSettings>,
): SamplingSettings {
  for (const [name, value] of [
    ['given', given],
    ['recommended', recommended],
  ] as const) {
    if (typeof value !== 'object' || value === null) invalidArgument(name, 'an object of sampling settings');
  }
  for (const key of KEYS) {
    if (given[key] !== undefined && !validValue(key, given[key])) invalidArgument(key, SETTINGS[key].expected);
  }
  const pick = (key: keyof SamplingSettings): number => given[key] ?? recommended[key] ?? ENGINE_SAMPLING[key];
  return Object.fromEntries(KEYS.map((key) => [key, pick(key)])) as unknown as SamplingSettings;
}

/** The settings under generation_config.json's names (top_p, min_p, repetition_penalty, …), as outputs report them. */
export function generationConfigFields(settings: SamplingSettings): Record<string, number> {
  return Object.fromEntries(KEYS.map((key) => [SETTINGS[key].field, settings[key]]));
}
