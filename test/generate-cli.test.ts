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

test("generate samples with the model's generation_config.json settings unless flags name others", () => {
  const modelDir = path.join(dir, 'recommending');
  fs.cpSync(EMBEDDED_MODEL_DIR, modelDir, { recursive: true });
  const configFile = path.join(modelDir, 'generation_config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  fs.writeFileSync(configFile, JSON.stringify({ ...config, temperature: 0.7, top_k: 1 }));
  const generate = (...flags: string[]) => {
    const result = runCli([
      'generate',
      ...['--model', modelDir, '--prompt', 'Count on: 3 4', '--n', '3', '--max-tokens', '12', '--json', ...flags],
    ]);
    expect(result.status).toBe(0);
    const lines = jsonLines(result.stdout);
    return { settings: lines[0], samples: lines.slice(1).map((line) => (line.token_ids as number[]).join(' ')) };
  };
  // top_k 1 leaves one token to draw: every sample is the greedy one.
  const recommended = generate();
  expect(recommended.settings).toEqual({ event: 'settings', temperature: 0.7, top_p: 1, top_k: 1 });
  const greedy = generate('--temperature', '0');
  expect(greedy.settings).toEqual({ event: 'settings', temperature: 0, top_p: 1, top_k: 1 });
  expect(recommended.samples).toEqual(greedy.samples);
  const overridden = generate('--top-k', '0', '--seed', '3');
  expect(overridden.settings).toEqual({ event: 'settings', temperature: 0.7, top_p: 1, top_k: 0 });
  expect(new Set(overridden.samples).size).toBeGreaterThan(1);

  fs.writeFileSync(configFile, JSON.stringify({ ...config, top_p: 2 }));
  const refused = runCli(['generate', '--model', modelDir, '--prompt', 'x']);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain("generation_config.json: field 'top_p' must be a number in (0, 1]");
});
