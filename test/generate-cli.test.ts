/**
 * `genius-native generate` on a model whose embedding is padded past its tokenizer's vocabulary (as Qwen2.5's is):
 * the padded ids can be sampled and name no token, so they add no text, as Python's tokenizer decodes them.
 * Prompts come from a JSONL file of {prompt} or {instruction} lines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '../lib';
import { runCli } from './helpers/cli';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-generate-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

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
  const samples = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { prompt_index: number; text: string; token_ids: number[] });
  expect(samples.map((sample) => sample.prompt_index)).toEqual([0, 0, 1, 1]);
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const padded = samples.flatMap((sample) => sample.token_ids.filter((id) => id >= tokenizer.vocabSize));
  expect(padded.length).toBeGreaterThan(0);
  for (const sample of samples) {
    const known = sample.token_ids.filter((id) => id < tokenizer.vocabSize);
    expect(sample.text).toBe(tokenizer.decode(known, { skipSpecialTokens: true }));
  }
});
