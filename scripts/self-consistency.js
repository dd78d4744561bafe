#!/usr/bin/env node
'use strict';
/**
 * A label-free baseline that users of the field know, to stand beside Genius in scripts/measure-gain.js:
 * self-consistency training. For each unlabeled query, sample N responses, take the majority answer, and fine-tune
 * (next-token cross-entropy, `genius-native sft`) on the first sampled response that reaches it. Then evaluate on the
 * labeled split, like `train` does.
 *
 * Usage: node scripts/self-consistency.js --model DIR --queries FILE --eval FILE --out DIR [--samples 8]
 *        [--temperature 0.6] [--seed 0] [-- sft flags, e.g. --lr 3e-5 --batch-size 8 --grad-accum 2]
 * Writes OUT/sft.jsonl, OUT/model (the fine-tuned model) and OUT/eval-{0,1}.json (`eval --json` reports: the
 * starting model and the fine-tuned one). Each stage is skipped when its output is there.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Model, Tokenizer, readQueries, stepPrompt, extractAnswer, majorityAnswer } = require('../dist/lib');

const { values, positionals } = parseArgs({
  options: {
    model: { type: 'string' },
    queries: { type: 'string' },
    eval: { type: 'string' },
    out: { type: 'string' },
    samples: { type: 'string', default: '8' },
    temperature: { type: 'string', default: '0.6' },
    seed: { type: 'string', default: '0' },
  },
  allowPositionals: true,
});
for (const name of ['model', 'queries', 'eval', 'out']) if (!values[name]) throw new Error(`--${name} is required`);
const cli = path.join(__dirname, '..', 'bin', 'genius-native.js');

function run(argv, stdoutFile) {
  const child = spawnSync(process.execPath, [cli, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`failed (exit ${child.status}): ${argv.join(' ')}`);
  if (stdoutFile) {
    // The shape of `train`'s eval-N.json: { report }.
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1));
    fs.writeFileSync(`${stdoutFile}.tmp`, JSON.stringify({ report }) + '\n');
    fs.renameSync(`${stdoutFile}.tmp`, stdoutFile);
  }
}

/** The {prompt, response} lines of the majority answers. */
async function majorityLines() {
  const tokenizer = await Tokenizer.fromDir(values.model);
  const queries = await readQueries(values.queries);
  const n = Number(values.samples);
  const model = await Model.load(values.model);
  try {
    const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
    const lines = [];
    for (let start = 0; start < queries.length; start += 16) {
      const batch = queries.slice(start, start + 16);
      const prompts = batch.map((query) => stepPrompt(tokenizer, query.instruction));
      const generation = await model.generate(
        prompts.map((prompt) => tokenizer.encode(prompt, { addSpecialTokens: false })),
        {
          n,
          temperature: Number(values.temperature),
          maxNewTokens: 256,
          seed: Number(values.seed) + start,
          eosTokenIds,
        },
      );
      batch.forEach((_, index) => {
        const responses = generation.samples
          .slice(index * n, (index + 1) * n)
          .map((sample) => tokenizer.decode(sample.tokens, { skipSpecialTokens: true }));
        // The majority as `eval` counts it: normalised answers, the first response to reach the top count.
        const majority = majorityAnswer(responses.map((response) => ({ response, answer: extractAnswer(response) })));
        if (majority === undefined) return;
        lines.push({ prompt: prompts[index], response: majority.response });
      });
    }
    return lines;
  } finally {
    model.dispose();
  }
}

async function main() {
  fs.mkdirSync(values.out, { recursive: true });
  const data = path.join(values.out, 'sft.jsonl');
  if (!fs.existsSync(data)) {
    const lines = await majorityLines();
    fs.writeFileSync(`${data}.tmp`, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    fs.renameSync(`${data}.tmp`, data);
  }
  const model = path.join(values.out, 'model');
  const before = path.join(values.out, 'eval-0.json');
  const after = path.join(values.out, 'eval-1.json');
  if (!fs.existsSync(before)) run(['eval', '--model', values.model, '--data', values.eval, '--json'], before);
  if (!fs.existsSync(after)) {
    const resume = fs.existsSync(model) ? ['--resume'] : [];
    run([
      'sft',
      '--model',
      values.model,
      '--data',
      data,
      '--out',
      model,
      '--seed',
      values.seed,
      ...resume,
      ...positionals,
    ]);
    run(['eval', '--model', model, '--data', values.eval, '--json'], after);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
