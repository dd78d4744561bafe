/**
 * The model a benchmark runs: a directory given with --model, else the embedded default model (models/default),
 * else a random model with the config shape of a real architecture, written by bench/python/make_random_model.py
 * with transformers into a temporary directory (see that script for how its steps are made to end).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EMBEDDED_MODEL_DIR } from '../embedded';
import { PYTHON_DIR, PYTHON_ENV, referencePython } from './protocol';

export const RANDOM_ARCHITECTURES = ['qwen2.5-0.5b', 'qwen2.5-1.5b', 'llama-3.2-1b', 'tiny'] as const;
export type RandomArchitecture = (typeof RANDOM_ARCHITECTURES)[number];
export const DEFAULT_ARCHITECTURE: RandomArchitecture = 'qwen2.5-0.5b';

export interface BenchModel extends Disposable {
  dir: string;
  source: 'given' | 'default' | 'random';
  /** The architecture whose shape a random model has. */
  arch?: RandomArchitecture;
  modelType: string;
  layers: number;
  hidden: number;
  vocab: number;
  maxPositions: number;
  /** Weights a token meets as matmuls in a forward: what the roofline rows count (machine.ts). */
  matmulParameters: number;
}

export interface BenchModelOptions {
  model?: string;
  /** Generate a random model of this shape even if the default model exists. */
  arch?: RandomArchitecture;
  /** Decoder layers of a random model (undefined: the architecture's). */
  layers?: number;
}

/** The weights a token meets as matmuls in one forward: the decoder layers' projections and the LM head. */
function matmulParameters(config: {
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
}): number {
  const { layers, hidden, intermediate, heads, kvHeads, headDim, vocab } = config;
  const attention = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim;
  return layers * (attention + 3 * hidden * intermediate) + vocab * hidden;
}

function describe(
  dir: string,
  source: BenchModel['source'],
  dispose: () => void,
  arch?: RandomArchitecture,
): BenchModel {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, number | string>;
  const hidden = Number(config.hidden_size);
  const heads = Number(config.num_attention_heads);
  return {
    dir,
    source,
    arch,
    modelType: String(config.model_type),
    layers: Number(config.num_hidden_layers),
    hidden: Number(config.hidden_size),
    vocab: Number(config.vocab_size),
    maxPositions: Number(config.max_position_embeddings),
    matmulParameters: matmulParameters({
      layers: Number(config.num_hidden_layers),
      hidden,
      intermediate: Number(config.intermediate_size),
      heads,
      kvHeads: Number(config.num_key_value_heads ?? heads),
      headDim: Number(config.head_dim ?? hidden / heads),
      vocab: Number(config.vocab_size),
    }),
    [Symbol.dispose]: dispose,
  };
}

async function randomModel(arch: RandomArchitecture, layers: number | undefined): Promise<BenchModel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `genius-bench-${arch}-`));
  const args = [path.join(PYTHON_DIR, 'make_random_model.py'), '--arch', arch, '--out', dir];
  if (layers !== undefined) args.push('--layers', String(layers));
  try {
    await promisify(execFile)(referencePython(), args, { env: PYTHON_ENV, maxBuffer: 1 << 24 });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`bench/python/make_random_model.py --arch ${arch} failed:\n${stderr.slice(-4000)}`, {
      cause: error,
    });
  }
  return describe(dir, 'random', () => fs.rmSync(dir, { recursive: true, force: true }), arch);
}

export async function benchModel(options: BenchModelOptions): Promise<BenchModel> {
  const keep = (): void => {};
  if (options.model !== undefined) return describe(path.resolve(options.model), 'given', keep);
  if (options.arch === undefined && fs.existsSync(path.join(EMBEDDED_MODEL_DIR, 'config.json'))) {
    return describe(EMBEDDED_MODEL_DIR, 'default', keep);
  }
  return randomModel(options.arch ?? DEFAULT_ARCHITECTURE, options.layers);
}
