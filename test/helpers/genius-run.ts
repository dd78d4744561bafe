/**
 * A small Genius run for end-to-end tests: a tiny random Llama that speaks a test tokenizer, six problems of the
 * embedded validation split as unlabeled queries (three of them, labeled, as the held-out set), and the sizes that
 * keep a run to seconds, as `train` flags and as the library options they stand for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PipelineOptions } from '../../lib/genius/pipeline';
import { runReference } from './python';

export interface GeniusRunFixture {
  dir: string;
  modelDir: string;
  problems: { instruction: string; response: string }[];
  queriesFile: string;
  evalFile: string;
  /** The flags of a run into `out`. */
  trainArgs(out: string, queries?: string, iterations?: number): string[];
  /** The same run as the library's options. */
  pipelineOptions(out: string, iterations?: number): PipelineOptions;
  /** The weights a run's iteration ended with. */
  weights(out: string, iteration?: number): Buffer;
}

/** Makes the model and the data in a new temporary directory (removed by the caller: fs.rmSync(fixture.dir)). */
export function geniusRunFixture(name: string): GeniusRunFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `genius-${name}-`));
  const tokenizers = runReference<{ byteLevel: string }>('make_tokenizers.py', { out: path.join(dir, 'tokenizers') });
  const modelDir = runReference<{ dir: string }>('make_genius_model.py', {
    tokenizer: tokenizers.byteLevel,
    out: path.join(dir, 'model'),
  }).dir;
  const problems = fs
    .readFileSync(path.join(__dirname, '..', '..', 'data', 'changes', 'validation.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, 6)
    .map((line) => JSON.parse(line) as { instruction: string; response: string });
  const queriesFile = path.join(dir, 'queries.jsonl');
  const evalFile = path.join(dir, 'eval.jsonl');
  fs.writeFileSync(queriesFile, problems.map((p) => JSON.stringify({ instruction: p.instruction })).join('\n'));
  fs.writeFileSync(
    evalFile,
    problems
      .slice(0, 3)
      .map((p) => JSON.stringify(p))
      .join('\n'),
  );
  return {
    dir,
    modelDir,
    problems,
    queriesFile,
    evalFile,
    trainArgs: (out, queries = queriesFile, iterations = 1) => [
      'train',
      ...['--model', modelDir, '--queries', queries, '--eval', evalFile, '--out', out],
      ...['--iterations', String(iterations)],
      ...['--beams', '2', '--rollouts', '2', '--foresight', '2', '--max-tokens', '12', '--queries-in-flight', '2'],
      ...['--lr', '1e-3', '--warmup-ratio', '0', '--grad-accum', '2', '--epochs', '2', '--seed', '3', '--json'],
    ],
    pipelineOptions: (out, iterations = 1) => ({
      model: modelDir,
      queries: queriesFile,
      eval: evalFile,
      out,
      iterations,
      explore: { beams: 2, rollouts: 2, foresightSteps: 2, maxTokens: 12, queriesInFlight: 2 },
      train: { lr: 1e-3, warmupRatio: 0, gradAccum: 2, epochs: 2 },
      seed: 3,
    }),
    weights: (out, iteration = 1) =>
      fs.readFileSync(path.join(out, `iteration-${iteration}`, 'model', 'model.safetensors')),
  };
}
