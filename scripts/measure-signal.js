#!/usr/bin/env node
'use strict';
/**
 * Can Genius's foresight tell a right step from a wrong one on this model and task? Measured on a labeled split
 * before any training (run it on the validation split: that is what designs and presets are chosen on).
 *
 *   greedy            greedy accuracy
 *   passAtN           a right answer among N samples (step temperature)
 *   confidentOfN      best-of-N by the sample's own mean token log-prob
 *   majorityOfN       self-consistency: the most frequent answer of the N samples
 *   foresightPick     the answer that Genius's exploration ends with (foresight re-sampling, defaults)
 *   pairs             Genius's pairs on these problems, by whether chosen / rejected reach the right answer,
 *                     split by whether greedy solves the problem: only "chosenOnly" pairs on problems that greedy
 *                     gets wrong can teach the model something it does not do already
 *
 * Usage: node scripts/measure-signal.js --model DIR --data data/changes/validation.jsonl --work DIR [--samples 8]
 *        [--temperature 0.6] [--limit N] [-- explore flags, e.g. --rollout-temperature 0.6]
 * Resumable: each stage writes its file in --work atomically and is skipped when the file is there.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const yargs = require('yargs/yargs');
const { hideBin } = require('yargs/helpers');
const { answersMatch, evaluationReport, extractAnswer } = require('../dist/lib');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'bin', 'genius-native.js');

const args = yargs(hideBin(process.argv))
  .option('model', { type: 'string', demandOption: true })
  .option('data', { type: 'string', demandOption: true, describe: 'labeled JSONL {instruction, response}' })
  .option('work', { type: 'string', demandOption: true, describe: 'directory for the stages' })
  .option('samples', { type: 'number', default: 8 })
  .option('temperature', { type: 'number', default: 0.6 })
  .option('limit', { type: 'number', describe: 'only the first N problems' })
  .strict()
  .parseSync();
const exploreFlags = args._.map(String);

const readJsonl = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));

function run(name, argv) {
  console.error(`${name}: ${argv.join(' ')}`);
  const child = spawnSync(process.execPath, [cli, ...argv], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (child.status !== 0) throw new Error(`${name} failed (exit ${child.status})`);
}

/** Runs a stage whose output file is written atomically, unless the file is there already. */
function stage(name, output, argv) {
  if (fs.existsSync(output)) return console.error(`${name}: kept ${path.relative(root, output)}`);
  run(name, argv);
}

fs.mkdirSync(args.work, { recursive: true });
let data = path.resolve(args.data);
if (args.limit !== undefined) {
  const limited = path.join(args.work, 'problems.jsonl');
  const lines = fs
    .readFileSync(data, 'utf8')
    .split('\n')
    .filter((line) => line.trim());
  fs.writeFileSync(limited, lines.slice(0, args.limit).join('\n') + '\n');
  data = limited;
}
const evalFile = path.join(args.work, 'eval.jsonl');
stage('eval', evalFile, [
  'eval',
  '--model',
  args.model,
  '--data',
  data,
  '--n-samples',
  String(args.samples),
  '--temperature',
  String(args.temperature),
  '--out',
  evalFile,
  '--json',
]);
const exploreDir = path.join(args.work, 'explore');
const pairsFile = path.join(exploreDir, 'pairs.jsonl');
// explore resumes itself; the pairs file is written only once exploration is complete.
if (!fs.existsSync(pairsFile)) {
  const resume = fs.existsSync(exploreDir) ? ['--resume'] : [];
  run('explore', [
    'explore',
    '--model',
    args.model,
    '--queries',
    data,
    '--out',
    exploreDir,
    ...resume,
    '--json',
    ...exploreFlags,
  ]);
  run('pairs', ['pairs', '--records', exploreDir, '--json']);
}

const results = readJsonl(evalFile);
const byQuestion = new Map(results.map((result) => [result.question, result]));
// Greedy, pass@N, majority and best-of-N as `eval` reports them.
const report = evaluationReport(results);
const records = readJsonl(path.join(exploreDir, 'records.jsonl'));
const foresightRight = records.filter((record) => {
  const result = byQuestion.get(record.question);
  return answersMatch(extractAnswer(record.response), result.truth);
}).length;

const pairs = {
  greedyWrong: { chosenOnly: 0, rejectedOnly: 0, same: 0 },
  greedyRight: { chosenOnly: 0, rejectedOnly: 0, same: 0 },
};
const userTurn = /<\|im_start\|>user\n([\s\S]*?)<\|im_end\|>/;
for (const pair of readJsonl(pairsFile)) {
  const result = byQuestion.get(userTurn.exec(pair.prompt)[1]);
  const [chosen, rejected] = [pair.chosen, pair.rejected].map((side) =>
    answersMatch(extractAnswer(side[0].content), result.truth),
  );
  const kind = chosen === rejected ? 'same' : chosen ? 'chosenOnly' : 'rejectedOnly';
  pairs[result.greedy.correct ? 'greedyRight' : 'greedyWrong'][kind]++;
}

const summary = {
  model: args.model,
  data: args.data,
  problems: results.length,
  samples: args.samples,
  temperature: args.temperature,
  greedy: report.greedyAccuracy,
  passAtN: report.passAtK,
  confidentOfN: report.confidentAccuracy,
  majorityOfN: report.majorityAccuracy,
  foresightPick: foresightRight / records.length,
  pairs,
};
const out = path.join(args.work, 'signal.json');
fs.writeFileSync(`${out}.tmp`, JSON.stringify(summary, null, 2) + '\n');
fs.renameSync(`${out}.tmp`, out);
console.log(JSON.stringify(summary));
