/**
 * `genius-native generate` on a model whose embedding is padded past its tokenizer's vocabulary (as Qwen2.5's is):
 * the padded ids can be sampled and name no token, so they add no text, as Python's tokenizer decodes them.
 * Prompts come from a JSONL file of {prompt} or {instruction} lines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EMBEDDED_MODEL_DIR, Tokenizer } from '../lib';
import { runCli } from './helpers/cli';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-generate-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('generate samples padded ids without failing and leaves them out of the text', async () => {
  const tokenizers = runReference<{ byteLevel: string }>('make_tokenizers.py', { out: path.join(dir, 'tokenizers') });
  const padding = 64;
  const { dir: modelDir } = runReference<{ dir: string }>('make_genius_model.py', {
    tokenizer: tokenizers.byteLevel,
    out: path.join(dir, 'model'),
    padding,
    padding_bias: 3,
  });
  const input = path.join(dir, 'prompts.jsonl');
  fs.writeFileSync(
    input,
    `${JSON.stringify({ prompt: 'What is 3 + 4?' })}\n${JSON.stringify({ instruction: 'Hi' })}\n`,
  );
  const result = runCli([
    'generate',
    ...['--model', modelDir, '--input', input, '--chat', '--n', '2', '--max-tokens', '24', '--json'],
  ]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const samples = jsonLines(result.stdout).filter((line) => line.event === 'sample') as unknown as {
    prompt_index: number;
    text: string;
    token_ids: number[];
  }[];
  expect(samples.map((sample) => sample.prompt_index)).toEqual([0, 0, 1, 1]);
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const padded = samples.flatMap((sample) => sample.token_ids.filter((id) => id >= tokenizer.vocabSize));
  expect(padded.length).toBeGreaterThan(0);
  for (const sample of samples) {
    const known = sample.token_ids.filter((id) => id < tokenizer.vocabSize);
    expect(sample.text).toBe(tokenizer.decode(known, { skipSpecialTokens: true }));
  }
});

test("generate samples with the model's generation_config.json settings unless flags name others", async () => {
  const modelDir = path.join(dir, 'recommending');
  fs.cpSync(EMBEDDED_MODEL_DIR, modelDir, { recursive: true });
  const configFile = path.join(modelDir, 'generation_config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const recommending = { temperature: 0.7, top_k: 1, min_p: 0.05, repetition_penalty: 1.3 };
  fs.writeFileSync(configFile, JSON.stringify({ ...config, ...recommending }));
  const prompt = 'Count on: 3 4';
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const generate = (...flags: string[]) => {
    const result = runCli([
      'generate',
      ...['--model', modelDir, '--prompt', prompt, '--n', '3', '--max-tokens', '12', '--json', ...flags],
    ]);
    expect(result.status).toBe(0);
    const lines = jsonLines(result.stdout);
    return { settings: lines[0], samples: lines.slice(1).map((line) => line.token_ids as number[]) };
  };
  // transformers' greedy decoding, with and without the recommended penalty: top_k 1 leaves one token to draw, the
  // most likely after the penalty, so every sample is the greedy one (cut where an end-of-response token ends it).
  const greedy = (repetitionPenalty: number) =>
    runReference<{ greedy: { tokens: number[] }[] }>('hf_rollout.py', {
      dir: modelDir,
      greedy_prompts: [tokenizer.encode(prompt)],
      max_new_tokens: 12,
      repetition_penalty: repetitionPenalty,
    }).greedy[0].tokens;
  const penalized = greedy(1.3);
  const unpenalized = greedy(1);
  expect(penalized).not.toEqual(unpenalized);
  const expectGreedy = (samples: number[][], reference: number[]) => {
    for (const sample of samples) expect(reference.slice(0, sample.length)).toEqual(sample);
  };

  const recommended = generate();
  expect(recommended.settings).toEqual({ event: 'settings', top_p: 1, ...recommending });
  expectGreedy(recommended.samples, penalized);
  const greedyFlag = generate('--temperature', '0');
  expect(greedyFlag.settings).toEqual({ event: 'settings', top_p: 1, ...recommending, temperature: 0 });
  expect(greedyFlag.samples).toEqual(recommended.samples);
  const noPenalty = generate('--repetition-penalty', '1');
  expect(noPenalty.settings).toEqual({ event: 'settings', top_p: 1, ...recommending, repetition_penalty: 1 });
  expectGreedy(noPenalty.samples, unpenalized);
  const overridden = generate('--top-k', '0', '--min-p', '0', '--seed', '3');
  expect(overridden.settings).toEqual({ event: 'settings', top_p: 1, ...recommending, top_k: 0, min_p: 0 });
  expect(new Set(overridden.samples.map((ids) => ids.join(' '))).size).toBeGreaterThan(1);

  for (const [flag, value, expected] of [
    ['--repetition-penalty', '0', "argument 'repetitionPenalty' must be a number > 0"],
    ['--min-p', '1.5', "argument 'minP' must be a number in [0, 1]"],
    ['--temperature', '-1', "argument 'temperature' must be a number >= 0"],
  ]) {
    const refused = runCli(['generate', '--model', modelDir, '--prompt', 'x', flag, value]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(expected);
    expect(refused.stderr).toContain('[ERR_GENIUS_INVALID_ARG]');
  }
  for (const [field, value, expected] of [
    ['top_p', 2, 'a number in (0, 1]'],
    ['repetition_penalty', 0, 'a number > 0'],
    ['min_p', -0.1, 'a number in [0, 1]'],
  ] as const) {
    fs.writeFileSync(configFile, JSON.stringify({ ...config, [field]: value }));
    const refused = runCli(['generate', '--model', modelDir, '--prompt', 'x']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`generation_config.json: field '${field}' must be ${expected}`);
  }
});
