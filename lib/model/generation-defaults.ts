/**
 * The sampling settings a model directory recommends in generation_config.json (temperature, top_p, top_k): what
 * `generate` and the server sample with when the user names none, as vLLM and transformers' generate() take them
 * (Qwen2.5-Instruct ships 0.7 / 0.8 / 20, Llama 3 0.6 / 0.9). The library's Model.generate does not apply them,
 * and neither does Genius: its stages set their own temperatures, as the method defines them.
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
}

/** The engine's own defaults: the model's distribution as it is. */
export const ENGINE_SAMPLING: Readonly<SamplingSettings> = { temperature: 1, topP: 1, topK: 0 };

/** Each of generation_config.json's temperature, top_p and top_k that `dir` sets, checked. */
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
  const read = (key: string, valid: (value: number) => boolean, expected: string): number | undefined => {
    const value = config[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !valid(value)) badFile(file, `field '${key}' must be ${expected}`);
    return value;
  };
  const defaults: Partial<SamplingSettings> = {};
  const temperature = read('temperature', (value) => value >= 0, 'a number >= 0');
  const topP = read('top_p', (value) => value > 0 && value <= 1, 'a number in (0, 1]');
  const topK = read('top_k', (value) => Number.isInteger(value) && value >= 0, 'an integer >= 0');
  if (temperature !== undefined) defaults.temperature = temperature;
  if (topP !== undefined) defaults.topP = topP;
  if (topK !== undefined) defaults.topK = topK;
  return defaults;
}

/** What a request samples with: what it names, else the model's recommendation, else the engine's default. */
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
  const pick = (key: keyof SamplingSettings): number => given[key] ?? recommended[key] ?? ENGINE_SAMPLING[key];
  return { temperature: pick('temperature'), topP: pick('topP'), topK: pick('topK') };
}
