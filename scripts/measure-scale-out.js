#!/usr/bin/env node
/**
 * Measures scale-out on this machine, world size 1 against 2 (`genius-native launch`, one OpenMP thread per rank
 * either way): exploration's queries/s and sampled tokens/s over the embedded queries, training's tokens/s over SFT
 * steps on the embedded data (the same batch at both sizes: the accumulation halves), and the share of a
 * data-parallel step spent summing gradients over the ranks (the trainer's `train.all_reduce` phase, from a second,
 * profiled pass). A benchmark, not a test: run it on a quiet machine, after `npm run build`. Prints a markdown table.
 *
 * Usage: node scripts/measure-scale-out.js [--queries 32] [--steps 8] [--batch 16] [--port 29540]
 */
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '32' },
    steps: { type: 'string', default: '8' },
    batch: { type: 'string', default: '16' },
    port: { type: 'string', default: '29540' },
    rank: { type: 'string' }, // internal: the workload a rank runs
  },
});

/** One rank's part of a workload (run under the launcher); rank 0 prints the workload's figures as JSON. */
async function rank(workload) {
  const lib = require(path.join(root, 'dist', 'lib'));
  const { native } = require(path.join(root, 'dist', 'lib', 'native'));
  const launch = lib.readLaunchEnvironment();
  const group = launch && launch.worldSize > 1 ? await lib.ProcessGroup.join(launch) : undefined;
  const model = await lib.Model.load(lib.EMBEDDED_MODEL_DIR);
  const tokenizer = await lib.Tokenizer.fromDir(lib.EMBEDDED_MODEL_DIR);
  const report = (figures) => (group?.rank ?? 0) === 0 && console.log(JSON.stringify(figures));
  if (workload === 'explore') {
    const queries = (await lib.readQueries(lib.EMBEDDED_QUERIES)).slice(0, Number(values.queries));
    const genius = new lib.Genius(model, tokenizer, {});
    const began = performance.now();
    let tokens = 0;
    for await (const event of genius.explore(queries, { group })) {
      if (event.type === 'progress') tokens = event.generatedTokens;
    }
    const seconds = (performance.now() - began) / 1000;
    const allTokens = group ? (await group.allGatherJson(tokens)).reduce((a, b) => a + b, 0) : tokens;
    report({ queriesPerSecond: queries.length / seconds, tokensPerSecond: allTokens / seconds });
  } else {
    // The embedded model's own SFT data: {instruction, response}, prompted as exploration prompts.
    const examples = (await lib.readLabeledQueries(path.join(root, 'data', 'changes', 'sft.jsonl'))).map((query) => ({
      prompt: lib.stepPrompt(tokenizer, query.instruction),
      response: query.response,
    }));
    const eosTokenId = require(path.join(root, 'dist', 'lib', 'genius', 'responses')).endOfTurnId(model, tokenizer);
    const { sequences } = lib.encodeSftExamples(tokenizer, examples.slice(0, 4 * Number(values.batch)), {
      maxLength: 512,
      eosTokenId,
    });
    const ranks = group?.size ?? 1;
    const options = { microBatch: 4, gradAccum: Number(values.batch) / 4 / ranks, steps: Number(values.steps), group };
    const pass = async () => {
      const figures = { tokens: 0, seconds: 0, allSeconds: 0 };
      for await (const step of lib.supervisedFineTune(model, sequences, options)) {
        figures.allSeconds += step.seconds;
        // The first step warms caches and the allocator up: left out of the throughput.
        if (step.step > 1)
          [figures.tokens, figures.seconds] = [figures.tokens + step.tokens, figures.seconds + step.seconds];
      }
      return figures;
    };
    const plain = await pass();
    native().setProfiling(true);
    const profiled = await pass();
    const allReduce =
      native()
        .takeProfile()
        .find((row) => row.name === 'train.all_reduce')?.totalMs ?? 0;
    report({
      tokensPerSecond: plain.tokens / plain.seconds,
      communicationShare: allReduce / 1000 / profiled.allSeconds,
    });
  }
  group?.dispose();
  model.dispose();
}

/** Runs a workload on `ranks` ranks; rank 0's figures. */
function measure(workload, ranks) {
  const result = spawnSync(
    process.execPath,
    [
      path.join(root, 'bin', 'genius-native.js'),
      ...['launch', '--nproc-per-node', String(ranks), '--master-port', values.port, '--'],
      ...[process.execPath, __filename, '--rank', workload, '--queries', values.queries],
      ...['--steps', values.steps, '--batch', values.batch],
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 1 << 28 },
  );
  if (result.status !== 0) throw new Error(`${workload} on ${ranks} rank(s) failed:\n${result.stderr}`);
  const line = result.stdout.split('\n').find((text) => text.startsWith('[rank 0] {'));
  return JSON.parse(line.slice('[rank 0] '.length));
}

async function main() {
  if (values.rank !== undefined) return await rank(values.rank);
  const rows = [];
  for (const ranks of [1, 2]) {
    const explore = measure('explore', ranks);
    const train = measure('train', ranks);
    rows.push([
      ranks,
      explore.queriesPerSecond,
      explore.tokensPerSecond,
      train.tokensPerSecond,
      train.communicationShare,
    ]);
    console.error(`world size ${ranks} measured`);
  }
  console.log('| ranks | explore queries/s | explore tokens/s | training tokens/s | all-reduce share of a step |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [ranks, queries, tokens, trained, share] of rows) {
    const pct = `${(100 * share).toFixed(1)}%`;
    console.log(`| ${ranks} | ${queries.toFixed(2)} | ${tokens.toFixed(0)} | ${trained.toFixed(0)} | ${pct} |`);
  }
}

main().catch((error) => {
  console.error(error.stack ?? error);
  process.exitCode = 1;
});
