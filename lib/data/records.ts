/**
 * Exploration records (JSONL, one per query) in the reference's format, field for field. Indices are over step k's
 * candidate pool, in beam order (a beam's N candidates, or the one entry of a beam whose response has ended):
 * - traj_pool[k][j]: the trajectory of candidate j (preamble, steps, the candidate step, its foresight rollout);
 *   K + 1 lists, the last one empty, as the reference writes them;
 * - step_pool[k][j]: the rollout text; prob_pool[k][j]: its foresight score f; adv_pool[k][j]: A = f − Q;
 *   prob_pool[K] and adv_pool[K] hold each beam's final part's score and advantage;
 * - step_prob[k][j]: the candidate step's own mean token log-prob;
 * - sample_id_pool[k]: the candidates selected as the next beams; sample_id_pool[K]: the answer's beam, M times.
 * A step whose foresight was skipped (mode light) or that had no live beam leaves traj/step/prob/adv_pool[k]
 * empty, like the reference.
 */
import { badFile, invalidArgument } from '../errors';
import { readJsonLines } from './jsonl';
import type { QueryId } from './queries';

export interface ExplorationRecord {
  id: QueryId;
  question: string;
  /** Ground truth of the query; exploration never reads it and writes null. */
  ground_truth: unknown;
  response: string;
  response_all_beams: string[];
  foresight_steps: number;
  traj_pool: string[][];
  step_pool: string[][];
  prob_pool: number[][];
  adv_pool: number[][];
  step_prob: number[][];
  sample_id_pool: number[][];
}

const isListOf = (value: unknown, isItem: (item: unknown) => boolean): boolean =>
  Array.isArray(value) && value.every(isItem);
const isString = (value: unknown): boolean => typeof value === 'string';
const isNumber = (value: unknown): boolean => typeof value === 'number';
const isInteger = (value: unknown): boolean => Number.isInteger(value);

const FIELD_CHECKS: [keyof ExplorationRecord, string, (value: unknown) => boolean][] = [
  ['id', 'a string or an integer', (value) => isString(value) || Number.isSafeInteger(value)],
  ['question', 'a string', isString],
  ['response', 'a string', isString],
  ['response_all_beams', 'a list of strings', (value) => isListOf(value, isString)],
  ['foresight_steps', 'an integer', isInteger],
  ['traj_pool', 'a list of lists of strings', (value) => isListOf(value, (list) => isListOf(list, isString))],
  ['step_pool', 'a list of lists of strings', (value) => isListOf(value, (list) => isListOf(list, isString))],
  ['prob_pool', 'a list of lists of numbers', (value) => isListOf(value, (list) => isListOf(list, isNumber))],
  ['adv_pool', 'a list of lists of numbers', (value) => isListOf(value, (list) => isListOf(list, isNumber))],
  ['step_prob', 'a list of lists of numbers', (value) => isListOf(value, (list) => isListOf(list, isNumber))],
  ['sample_id_pool', 'a list of lists of integers', (value) => isListOf(value, (list) => isListOf(list, isInteger))],
];

/** `value` as a record, after checking each field's type and that a step's pools line up (`where` names it). */
export function parseRecord(where: string, value: unknown): ExplorationRecord {
  if (typeof where !== 'string') invalidArgument('where', 'a string naming the record (its file and number)');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) badFile(where, 'is not a JSON object');
  const record = value as Record<string, unknown>;
  for (const [field, expected, check] of FIELD_CHECKS) {
    if (!check(record[field])) badFile(where, `field '${field}' must be ${expected}`);
  }
  const parsed = record as unknown as ExplorationRecord;
  parsed.traj_pool.forEach((trajectories, step) => {
    for (const pool of ['prob_pool', 'adv_pool'] as const) {
      if (trajectories.length > 0 && parsed[pool][step]?.length !== trajectories.length) {
        badFile(where, `${pool}[${step}] must hold one number per trajectory of traj_pool[${step}]`);
      }
    }
  });
  return parsed;
}

/** The records of a JSONL file (the reference's or ours). */
export async function readRecords(file: string): Promise<ExplorationRecord[]> {
  return (await readJsonLines(file)).map((value, index) => parseRecord(`${file} record ${index}`, value));
}
