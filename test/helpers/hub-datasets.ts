/**
 * Dataset files as the Hugging Face hub ships them, for tests: the embedded validation split's first problems,
 * written by pyarrow and Python's json in GSM8K's, MATH's and Magpie's schemas (test/reference/dataset_files.py),
 * with the rows pyarrow reads back and the ground truths those sets' graders extract.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runReference } from './python';

export type HubSchema = 'gsm8k' | 'math' | 'magpie';

export interface HubProblem {
  instruction: string;
  /** The problem's integer answer (its worked solution's \boxed{…}). */
  answer: number;
}

export interface HubFiles {
  /** Each file by schema and form: `gsm8k-snappy`, …, `math-pages` (Parquet), `magpie-list`, `-data`, `-lines` (JSON). */
  files: Record<string, string>;
  fields: Record<HubSchema, string[]>;
  rows: Record<HubSchema, Record<string, unknown>[]>;
  truths: { gsm8k: { answer: string[] }; math: { solution: string[]; answer: string[] } };
}

/** The first `count` problems of data/changes/validation.jsonl. */
export function validationProblems(count: number): HubProblem[] {
  return fs
    .readFileSync(path.join(__dirname, '..', '..', 'data', 'changes', 'validation.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, count)
    .map((line) => JSON.parse(line) as { instruction: string; response: string })
    .map(({ instruction, response }) => ({ instruction, answer: Number(/\\boxed\{(-?\d+)\}/.exec(response)![1]) }));
}

/** Writes `problems` into `out` in every schema and form. */
export function hubFiles(out: string, problems: HubProblem[]): HubFiles {
  return runReference<HubFiles>('dataset_files.py', { out, problems });
}
