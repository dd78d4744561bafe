/**
 * Training checkpoints. A checkpoint directory is a Hugging Face model directory (config.json, model.safetensors
 * or shards, generation_config.json and the tokenizer files) that transformers and vLLM load as it is, plus
 * training_state/: trainer_state.json (step, settings, data fingerprint, reference log-probs) and
 * optimizer.safetensors (AdamW moments), which are what `--resume` needs to continue bit for bit.
 *
 * A checkpoint is written whole into `<dir>.tmp-<pid>` and then swapped in by two renames (the old one aside,
 * the new one in); recoverCheckpoint finishes a swap that a crash interrupted, so `dir` always holds the last
 * checkpoint that was complete.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkOutputDirectory, makeDirectory } from '../data/output-directory';
import { badFile, invalidArgument, writing } from '../errors';

export const STATE_DIR = 'training_state';
export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/** What a model directory holds besides config.json and weights, copied into every checkpoint when present. */
const MODEL_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
];

export interface TrainingState {
  format: 'genius-native-training';
  objective: 'preference' | 'sft';
  /** Optimizer steps done. */
  step: number;
  totalSteps: number;
  /** True once the last step is done (the optimizer state is then no longer kept). */
  completed: boolean;
  /** The settings that decide the numbers; a resumed run must be given the same. */
  settings: Record<string, unknown>;
  /** sha256 of the training examples' tokens. */
  data: string;
  /** Σ log πref of each pair's responses, in data order (preference runs that use a reference). */
  reference?: { chosen: number[]; rejected: number[] };
}

async function exists(file: string): Promise<boolean> {
  return await fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Siblings of `dir` left by an interrupted write: `<name>.<kind>-<pid>`. */
async function leftovers(dir: string, kind: 'tmp' | 'old'): Promise<string[]> {
  const parent = path.dirname(path.resolve(dir));
  const prefix = `${path.basename(path.resolve(dir))}.${kind}-`;
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith(prefix)).map((name) => path.join(parent, name));
}

/**
 * Makes `dir` the last complete checkpoint again after a crash: restores the previous checkpoint if the crash
 * fell between the two renames of a swap, and removes what unfinished writes left.
 */
export async function recoverCheckpoint(dir: string): Promise<void> {
  const old = await leftovers(dir, 'old');
  if (!(await exists(dir)) && old.length > 0) await fs.rename(old[0], dir);
  for (const leftover of [...(await leftovers(dir, 'old')), ...(await leftovers(dir, 'tmp'))]) {
    await fs.rm(leftover, { recursive: true, force: true });
  }
}

/**
 * Checks `dir` (named by the argument `argument`) as a run's checkpoint directory, before any work: a directory
 * that can be written, new or empty, or (`resume`) holding a training run, whose state is returned after any
 * interrupted swap is finished. Anything else is refused: saving swaps the whole directory, and genius-native
 * replaces nothing that is not its own.
 */
export async function claimCheckpointDirectory(
  dir: string,
  argument: string,
  resume: boolean,
): Promise<TrainingState | undefined> {
  await checkOutputDirectory(dir, argument);
  await recoverCheckpoint(dir);
  const state = await readTrainingState(dir);
  if (state === undefined) {
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    if (entries.length > 0) {
      invalidArgument(argument, `a new or empty directory, or a training run (${dir} holds other files)`);
    }
    return undefined;
  }
  if (!resume) {
    invalidArgument(
      argument,
      `a new directory: ${dir} holds a training run at step ${state.step}; resume it (--resume) or choose another`,
    );
  }
  return state;
}

/** Writes a checkpoint through `fill` (which writes into the directory it is given) and swaps it in as `dir`. */
export async function writeCheckpoint(dir: string, fill: (staging: string) => Promise<void>): Promise<void> {
  const staging = `${path.resolve(dir)}.tmp-${process.pid}`;
  await fs.rm(staging, { recursive: true, force: true });
  await makeDirectory(path.join(staging, STATE_DIR));
  try {
    await fill(staging);
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  }
  const aside = `${path.resolve(dir)}.old-${process.pid}`;
  const replacing = await exists(dir);
  await writing(dir, 'swap the new checkpoint in', async () => {
    if (replacing) await fs.rename(dir, aside);
    await fs.rename(staging, dir);
  });
  if (replacing) await fs.rm(aside, { recursive: true, force: true });
}

/** Copies the tokenizer and generation files of `sourceDir` (those it has) into `dir`. */
export async function copyModelFiles(sourceDir: string, dir: string): Promise<void> {
  for (const name of MODEL_FILES) {
    const source = path.join(sourceDir, name);
    if (existsSync(source)) await fs.copyFile(source, path.join(dir, name));
  }
}

export async function writeTrainingState(dir: string, state: TrainingState): Promise<void> {
  await fs.writeFile(path.join(dir, STATE_DIR, STATE_FILE), JSON.stringify(state) + '\n');
}

/** The training state of checkpoint `dir`, or undefined when it holds none (or does not exist). */
export async function readTrainingState(dir: string): Promise<TrainingState | undefined> {
  if (typeof dir !== 'string' || dir === '') invalidArgument('dir', 'a checkpoint directory path');
  const file = path.join(dir, STATE_DIR, STATE_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return badFile(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
  let state: TrainingState;
  try {
    state = JSON.parse(text) as TrainingState;
  } catch (error) {
    return badFile(file, `malformed JSON (${(error as Error).message})`, { cause: error });
  }
  if (
    state?.format !== 'genius-native-training' ||
    !Number.isInteger(state.step) ||
    !Number.isInteger(state.totalSteps)
  ) {
    badFile(file, 'is not a genius-native training state');
  }
  return state;
}
