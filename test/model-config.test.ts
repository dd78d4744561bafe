/**
 * config.json parsing and checkpoint loading/saving against transformers itself
 * (test/reference/make_tiny_models.py, test/reference/model_reference.py): the fields we parse are
 * what transformers builds its modules from, the weights we load are its state_dict, and what we
 * save it loads back. Bad directories fail with ERR_GENIUS_BAD_FILE naming the file and field.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Tensor, type ModelConfig } from '../lib';
import { loadModelWeights, readModelConfig, readSafetensors, saveModelWeights, writeSafetensors } from '../lib/testing';
import { runReference } from './helpers/python';

interface Digest {
  shape: number[];
  sha256: string;
}
type Described = Omit<ModelConfig, 'ropeScaling'> & {
  ropeScaling: Partial<NonNullable<ModelConfig['ropeScaling']>> | null;
  weights: Record<string, number[]>;
};

const MODELS = ['llama', 'llama3', 'qwen2', 'qwen3', 'qwen2-yarn', 'qwen2-mixed', 'gemma3', 'mistral'] as const;

interface Inspected {
  config: Described;
  state_dict: Record<string, Digest>;
}

/** transformers' reading of each directory (one Python process for all: each start costs seconds). */
function inspect(dirs: string[], stateDict = false): Record<string, Inspected> {
  return runReference<Record<string, Inspected>>('model_reference.py', { op: 'inspect', dirs, state_dict: stateDict });
}

/** As model_reference.py digests: sha256 of the values as little-endian float64. */
function digest(tensor: Tensor): Digest {
  using wide = tensor.to('float64');
  const values = wide.toArray();
  return {
    shape: tensor.shape,
    sha256: createHash('sha256')
      .update(Buffer.from(values.buffer, values.byteOffset, values.byteLength))
      .digest('hex'),
  };
}

function digestAll(tensors: Record<string, Tensor>): Record<string, Digest> {
  return Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [name, digest(tensor)]));
}

function disposeAll(tensors: Record<string, Tensor>): void {
  for (const tensor of Object.values(tensors)) tensor.dispose();
}

/** Our parse in the reference's terms: linear and yarn scaling have no llama3 fields, attention fields as flags. */
function comparable(config: ModelConfig): Omit<Described, 'weights'> {
  const scaling = config.ropeScaling;
  if (scaling?.type === 'linear') return { ...config, ropeScaling: { type: scaling.type, factor: scaling.factor } };
  if (scaling?.type === 'yarn') {
    const yarn: Partial<typeof scaling> = { ...scaling };
    delete yarn.lowFreqFactor;
    delete yarn.highFreqFactor;
    return { ...config, ropeScaling: yarn };
  }
  return { ...config, ropeScaling: scaling };
}

function withoutWeights(described: Described): Omit<Described, 'weights'> {
  return Object.fromEntries(Object.entries(described).filter(([key]) => key !== 'weights')) as Omit<
    Described,
    'weights'
  >;
}

let root: string;
let models: Record<(typeof MODELS)[number], string>;
let reference: Record<string, Inspected>;

/** A copy of `from` (config and generation config only, unless `withWeights`) with config.json edited. */
function variant(
  name: string,
  from: string,
  edit: (config: Record<string, unknown>) => void,
  withWeights = false,
): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  for (const file of fs.readdirSync(from)) {
    if (withWeights || file.endsWith('.json')) fs.copyFileSync(path.join(from, file), path.join(dir, file));
  }
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-model-config-'));
  models = runReference('make_tiny_models.py', { out: path.join(root, 'tiny') });
  reference = inspect(Object.values(models), true);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('readModelConfig agrees with transformers', () => {
  it.each(MODELS)('%s as written by transformers 5', (name) => {
    expect(comparable(readModelConfig(models[name]))).toEqual(withoutWeights(reference[models[name]].config));
  });

  it('merges generation_config.json eos ids (first) with config.json ones', () => {
    expect(readModelConfig(models.llama3).eosTokenIds).toEqual([3, 9, 2]);
    expect(readModelConfig(models.qwen2)).toMatchObject({
      eosTokenIds: [5, 6],
      padTokenId: 5,
      tieWordEmbeddings: true,
    });
  });

  it('reads the transformers 4 form and the family defaults as transformers does', () => {
    const variants: [string, Partial<ModelConfig>][] = [
      // Top-level rope_theta, rope_scaling with "type", torch_dtype.
      [
        variant('legacy-linear', models.llama, (config) => {
          delete config.rope_parameters;
          delete config.dtype;
          config.rope_theta = 20000;
          config.rope_scaling = { type: 'linear', factor: 2 };
          config.torch_dtype = 'bfloat16';
        }),
        {
          ropeTheta: 20000,
          ropeScaling: { type: 'linear', factor: 2, lowFreqFactor: 0, highFreqFactor: 0, originalMaxPositions: 0 },
          torchDtype: 'bfloat16',
        },
      ],
      // llama3 scaling under rope_scaling with "rope_type", rope_theta at the top level.
      [
        variant('legacy-llama3', models.llama, (config) => {
          delete config.rope_parameters;
          config.rope_theta = 500000;
          config.rope_scaling = {
            rope_type: 'llama3',
            factor: 32,
            low_freq_factor: 1,
            high_freq_factor: 4,
            original_max_position_embeddings: 256,
          };
        }),
        {
          ropeTheta: 500000,
          ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 256 },
        },
      ],
      // head_dim derived from a null, Mistral's default of 8 kv heads.
      [
        variant('mistral-defaults', models.mistral, (config) => {
          config.head_dim = null;
          delete config.num_key_value_heads;
          config.num_attention_heads = 8;
        }),
        { headDim: 8, numKvHeads: 8 },
      ],
      // Gemma 3's transformers 4 form: the two RoPE bases at the top level, layers by sliding_window_pattern.
      [
        variant('gemma3-legacy', models.gemma3, (config) => {
          delete config.rope_parameters;
          delete config.layer_types;
          config.rope_theta = 500000;
          config.rope_local_base_freq = 20000;
          config.sliding_window_pattern = 2;
        }),
        { ropeTheta: 500000, slidingRopeTheta: 20000, slidingLayers: [true, false] },
      ],
      // Qwen3's head_dim defaults to 128, not hidden_size / heads.
      [
        variant('qwen3-defaults', models.qwen3, (config) => {
          delete config.head_dim;
        }),
        { headDim: 128, qkNorm: true },
      ],
      // Qwen2's window only counts with use_sliding_window.
      [
        variant('qwen2-window', models.qwen2, (config) => {
          config.sliding_window = 32768;
          config.use_sliding_window = false;
          config.max_window_layers = 1;
        }),
        { slidingWindow: null },
      ],
    ];
    const described = inspect(variants.map(([dir]) => dir));
    for (const [dir, expected] of variants) {
      const ours = readModelConfig(dir);
      expect(ours).toMatchObject(expected);
      expect(comparable(ours)).toEqual(withoutWeights(described[dir].config));
    }
  });
});

describe('loadModelWeights', () => {
  it.each(MODELS)('%s gives the state_dict transformers loads', async (name) => {
    const weights = await loadModelWeights(models[name]);
    try {
      const expected = { ...reference[models[name]].state_dict };
      // A tied model's lm_head is the embedding; transformers lists it, we do not hold it twice.
      if (reference[models[name]].config.tieWordEmbeddings) {
        expect(expected['lm_head.weight']).toEqual(expected['model.embed_tokens.weight']);
        delete expected['lm_head.weight'];
      }
      expect(digestAll(weights)).toEqual(expected);
      expect(weights['model.embed_tokens.weight'].dtype).toBe('float32');
    } finally {
      disposeAll(weights);
    }
  });

  it('reads Llama q/k/v/o and MLP biases from a sharded transformers checkpoint', async () => {
    const dir = path.join(root, 'llama-bias-sharded');
    runReference('model_reference.py', {
      op: 'save',
      out: dir,
      max_shard_size: '50KB',
      config: {
        ...JSON.parse(fs.readFileSync(path.join(models.llama, 'config.json'), 'utf8')),
        attention_bias: true,
        mlp_bias: true,
      },
    });
    expect(fs.existsSync(path.join(dir, 'model.safetensors.index.json'))).toBe(true);
    const config = readModelConfig(dir);
    expect(config).toMatchObject({ attentionBias: true, attentionOutputBias: true, mlpBias: true });
    const { config: described, state_dict: stateDict } = inspect([dir], true)[dir];
    expect(comparable(config)).toEqual(withoutWeights(described));
    const weights = await loadModelWeights(dir);
    try {
      expect(Object.keys(weights).sort()).toEqual(Object.keys(described.weights).sort());
      expect(digestAll(weights)).toEqual(stateDict);
    } finally {
      disposeAll(weights);
    }
  });

  it('converts to a requested dtype', async () => {
    const weights = await loadModelWeights(models.mistral, { dtype: 'bfloat16' });
    try {
      expect(new Set(Object.values(weights).map((tensor) => tensor.dtype))).toEqual(new Set(['bfloat16']));
    } finally {
      disposeAll(weights);
    }
  });
});

describe('saveModelWeights', () => {
  it('a sharded save of each family loads in transformers with the same weights and config', async () => {
    const saved: Record<string, string> = {};
    for (const name of MODELS) {
      const weights = await loadModelWeights(models[name]);
      saved[name] = path.join(root, `saved-${name}`);
      fs.mkdirSync(saved[name]);
      try {
        await saveModelWeights(saved[name], weights, models[name], { shardBytes: 40_000 });
      } finally {
        disposeAll(weights);
      }
      const files = fs.readdirSync(saved[name]).sort();
      expect(files).toContain('model.safetensors.index.json');
      expect(files).not.toContain('model.safetensors');
      expect(files.filter((file) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(file)).length).toBeGreaterThan(2);
      expect(files.some((file) => file.includes('.tmp-'))).toBe(false);
      expect(readModelConfig(saved[name])).toEqual(readModelConfig(models[name]));
    }
    const reloaded = inspect(Object.values(saved), true);
    for (const name of MODELS) {
      const original = reference[models[name]];
      expect(reloaded[saved[name]].state_dict).toEqual(original.state_dict);
      expect(reloaded[saved[name]].config).toEqual(original.config);
    }
  });

  it('writes one model.safetensors below the shard size, and records the saved dtype in config.json', async () => {
    const weights = await loadModelWeights(models.qwen2, { dtype: 'bfloat16' });
    const out = path.join(root, 'saved-bf16');
    fs.mkdirSync(out);
    try {
      await saveModelWeights(out, weights, models.qwen2);
      expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
      expect(readModelConfig(out).torchDtype).toBe('bfloat16');
      const written = await readSafetensors(path.join(out, 'model.safetensors'));
      try {
        expect(Object.keys(written)).not.toContain('lm_head.weight'); // tied, as transformers saves it
        expect(digestAll(written)).toEqual(digestAll(weights));
      } finally {
        disposeAll(written);
      }
    } finally {
      disposeAll(weights);
    }
  });

  it('refuses weights that do not match the config, naming them', async () => {
    const weights = await loadModelWeights(models.llama);
    try {
      const withoutNorm = Object.fromEntries(Object.entries(weights).filter(([name]) => name !== 'model.norm.weight'));
      await expect(saveModelWeights(path.join(root, 'never'), withoutNorm, models.llama)).rejects.toMatchObject({
        code: ErrorCode.InvalidArgument,
        message: expect.stringContaining('missing model.norm.weight'),
      });
      expect(fs.existsSync(path.join(root, 'never'))).toBe(false);
    } finally {
      disposeAll(weights);
    }
  });
});

describe('bad model directories', () => {
  const expectBadFile = (run: () => unknown, ...parts: string[]): void => {
    let error: unknown;
    try {
      run();
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: ErrorCode.BadFile });
    for (const part of parts) expect((error as Error).message).toContain(part);
  };

  it('a missing config.json', () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir);
    expectBadFile(() => readModelConfig(dir), path.join(dir, 'config.json'), 'cannot open');
  });

  type ConfigEdit = (config: Record<string, unknown>) => unknown;
  const badConfigs: [string, ConfigEdit, ...string[]][] = [
    ['unknown model_type', (c) => (c.model_type = 'gpt2'), 'model_type', "'gpt2' is not supported"],
    ['unknown architecture', (c) => (c.architectures = ['LlamaForSequenceClassification']), 'architectures'],
    ['missing hidden_size', (c) => delete c.hidden_size, "'hidden_size' is missing"],
    ['0 layers', (c) => (c.num_hidden_layers = 0), 'num_hidden_layers', 'integer in [1,'],
    [
      'heads not dividing hidden',
      (c) => ((c.num_attention_heads = 3), (c.num_key_value_heads = 3), delete c.head_dim),
      'num_attention_heads',
      'divide hidden_size',
    ],
    [
      'kv heads not dividing heads',
      (c) => (c.num_key_value_heads = 3),
      'num_key_value_heads',
      'divide num_attention_heads',
    ],
    ['a string size', (c) => (c.vocab_size = '256'), 'vocab_size'],
    [
      'unsupported rope',
      (c) => (c.rope_parameters = { rope_type: 'dynamic', factor: 4, rope_theta: 1e4 }),
      'rope_parameters.rope_type',
      "'dynamic'",
    ],
    [
      'unsupported rope, named by the key the file uses',
      (c) => (c.rope_scaling = { type: 'dynamic', factor: 4 }),
      'rope_scaling.type',
      "'dynamic'",
    ],
    [
      'yarn rope without its original context',
      (c) => (c.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 1e4 }),
      'rope_parameters.original_max_position_embeddings',
      'missing',
    ],
    [
      'llama3 rope without its factors',
      (c) => (c.rope_parameters = { rope_type: 'llama3', factor: 8 }),
      'rope_parameters.low_freq_factor',
    ],
    ['eos outside the vocabulary', (c) => (c.eos_token_id = [2, 999]), 'eos_token_id'],
    ['another activation', (c) => (c.hidden_act = 'gelu'), 'hidden_act'],
  ];
  it.each(badConfigs)('%s', (name, edit, ...parts) => {
    const dir = variant(`bad-${name.replace(/ /g, '-')}`, models.llama, edit);
    expectBadFile(() => readModelConfig(dir), path.join(dir, 'config.json'), ...parts);
  });

  it('malformed JSON in config.json or generation_config.json', () => {
    const dir = variant('bad-json', models.llama, () => {});
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama",');
    expectBadFile(() => readModelConfig(dir), 'config.json', 'malformed JSON');
    const generation = variant('bad-generation', models.llama, () => {});
    fs.writeFileSync(path.join(generation, 'generation_config.json'), '{"eos_token_id": "two"}');
    expectBadFile(() => readModelConfig(generation), 'generation_config.json', 'eos_token_id');
  });

  it('missing, unexpected and mis-shaped tensors are all named in one error', async () => {
    const dir = variant('bad-weights', models.llama, () => {});
    const weights = await readSafetensors(path.join(models.llama, 'model.safetensors'));
    using extra = Tensor.from([1, 2], [2]);
    using wrong = Tensor.from(new Float32Array(32), [32]);
    const removed = ['model.layers.1.mlp.up_proj.weight', 'model.norm.weight'];
    const kept = Object.fromEntries(Object.entries(weights).filter(([name]) => !removed.includes(name)));
    try {
      await writeSafetensors(path.join(dir, 'model.safetensors'), {
        ...kept,
        'model.norm.weight': wrong,
        'model.layers.0.self_attn.q_proj.bias': extra,
        'model.rotary_emb.inv_freq': extra, // old exports saved it; ignored
      });
    } finally {
      disposeAll(weights);
    }
    await expect(loadModelWeights(dir)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringMatching(
        /missing model\.layers\.1\.mlp\.up_proj\.weight; unexpected model\.layers\.0\.self_attn\.q_proj\.bias; wrong shape: model\.norm\.weight is \[32\] instead of \[64\]$/,
      ),
    });
  });

  it('a config declaring more layers than the weights hold, refused by the count before any per-layer work', async () => {
    const dir = variant('three-million-layers', models.llama, (c) => (c.num_hidden_layers = 3_000_000), true);
    await expect(loadModelWeights(dir)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('num_hidden_layers is 3000000 but the weights hold 2 layers'),
    });
  });

  it('a weights file that is there but cannot be read is named with what is wrong with it', async () => {
    const loop = variant('symlink-loop', models.llama, () => {});
    fs.symlinkSync('model.safetensors', path.join(loop, 'model.safetensors'));
    await expect(loadModelWeights(loop)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringMatching(/model\.safetensors: Too many levels of symbolic links$/),
    });
    const dangling = variant('dangling-link', models.llama, () => {});
    fs.symlinkSync('elsewhere.safetensors', path.join(dangling, 'model.safetensors'));
    await expect(loadModelWeights(dangling)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('model.safetensors: is a symbolic link to nothing'),
    });
  });

  it('a directory without weights, and an index naming a missing or outside shard', async () => {
    const none = variant('no-weights', models.llama, () => {});
    await expect(loadModelWeights(none)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('holds neither model.safetensors nor model.safetensors.index.json'),
    });
    const index = (weightMap: Record<string, string>): string => {
      const dir = variant(`index-${Object.values(weightMap)[0].replace(/\W/g, '')}`, models.llama, () => {});
      fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      return dir;
    };
    await expect(
      loadModelWeights(index({ 'model.norm.weight': 'model-00001-of-00002.safetensors' })),
    ).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('model-00001-of-00002.safetensors: cannot open'),
    });
    await expect(loadModelWeights(index({ 'model.norm.weight': '../llama/model.safetensors' }))).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining("weight_map['model.norm.weight'] is not the name of a file beside the index"),
    });
  });
});
