#!/usr/bin/env node
/**
 * Measures what `genius-native train` gains on the embedded default: held-out greedy accuracy after minus before,
 * per seed, for Genius as shipped and for the ablations and controls on the same seeds. Each run is a plain `train`
 * run in `<out>/<variant>-s<seed>` (the self-consistency baseline: scripts/self-consistency.js); a finished run is
 * read back, an unfinished one resumed, so an interrupted measurement continues where it stopped. Prints a
 * markdown table (the one in the README).
 *
 * Usage: node scripts/measure-gain.js [--out runs/gain] [--seeds 0,1,2] [--variants genius,nofs,...]
 *        [-- extra train flags for every run, e.g. --eval data/changes/validation.jsonl to choose a design]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const VARIANTS = {
  genius: { flags: [], what: 'Genius (`train` as shipped)' },
  nofs: { flags: ['--score', 'step'], what: "no foresight: steps scored by their own log-prob (the paper's ablation)" },
  highest: { flags: ['--strategy', 'highest'], what: 'greedy steps: the top-M candidates, no re-sampling' },
  dpo: { flags: ['--loss', 'dpo'], what: 'DPO instead of ACO' },
  code: { flags: ['--aco-weight', 'reference-code'], what: "ACO with the reference code's weight max(1, ·)" },
  shuffled: { flags: ['--shuffle-sides'], what: 'control: the same pairs, chosen and rejected swapped at random' },
  // ACO's weight on the rejected side is read from the foresight advantages, which travel with the swapped texts;
  // with DPO the swapped pairs hold no foresight at all.
  'shuffled-dpo': {
    flags: ['--shuffle-sides', '--loss', 'dpo'],
    what: 'control: sides swapped at random, trained with DPO (no advantages in the loss)',
  },
  sc: { script: 'self-consistency.js', what: 'self-consistency training: SFT on the majority answer of 8 samples' },
};

const { values, positionals } = parseArgs({
  options: {
    out: { type: 'string', default: path.join('runs', 'gain') },
    seeds: { type: 'string', default: '0,1,2' },
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
  },
  allowPositionals: true,
});
const seeds = values.seeds.split(',').map(Number);
const variants = values.variants.split(',');
for (const name of variants) {
  if (!(name in VARIANTS)) throw new Error(`--variants: unknown variant ${name} (${Object.keys(VARIANTS).join(', ')})`);
}
const cli = path.join(__dirname, '..', 'bin', 'genius-native.js');

/** The greedy accuracy of eval-N.json in `run`: N = 0 the starting model, else the last one written. */
function accuracy(run, which) {
  const files = fs.existsSync(run) ? fs.readdirSync(run).filter((file) => /^eval-\d+\.json$/.test(file)) : [];
  const numbers = files.map((file) => Number(file.slice(5, -5)));
  const last = Math.max(...numbers);
  if (numbers.length < 2 && which === 'last') return undefined;
  const file = path.join(run, `eval-${which === 'first' ? 0 : last}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).report.greedyAccuracy : undefined;
}

function trained(variant, seed) {
  const run = path.join(values.out, `${variant}-s${seed}`);
  const { flags = [], script } = VARIANTS[variant];
  const finished = script ? fs.existsSync(path.join(run, 'eval-1.json')) : fs.existsSync(path.join(run, 'report.md'));
  if (!finished) {
    const started = Date.now();
    const args = script
      ? [path.join(__dirname, script), '--seed', String(seed), '--out', run, ...scriptArgs(), '--', ...sftFlags()]
      : [cli, 'train', '--seed', String(seed), '--out', run, ...flags, ...(fs.existsSync(run) ? ['--resume'] : [])];
    const extra = script ? [] : positionals;
    const result = spawnSync(process.execPath, [...args, ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) throw new Error(`failed (exit ${result.status}): ${args.join(' ')}`);
    console.error(`${variant} seed ${seed}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return { before: accuracy(run, 'first'), after: accuracy(run, 'last') };
}

/** The model, queries and evaluation split of the `train` runs, for the baseline script. */
function scriptArgs() {
  const flag = (name, fallback) => {
    const at = positionals.indexOf(`--${name}`);
    return at >= 0 ? positionals[at + 1] : fallback;
  };
  const embedded = (...parts) => path.join(__dirname, '..', ...parts);
  return [
    ...['--model', flag('model', embedded('models', 'default'))],
    ...['--queries', flag('queries', embedded('data', 'changes', 'queries.jsonl'))],
    ...['--eval', flag('eval', embedded('data', 'changes', 'test.jsonl'))],
  ];
}

/** The optimiser of `train`'s preset for the embedded model, so that the baseline trains as Genius does. */
function sftFlags() {
  const { EMBEDDED_PRESET } = require('../dist/lib');
  return [
    ...['--lr', String(EMBEDDED_PRESET.lr), '--batch-size', String(EMBEDDED_PRESET.microBatch)],
    ...['--grad-accum', String(EMBEDDED_PRESET.gradAccum), '--max-grad-norm', String(EMBEDDED_PRESET.maxGradNorm)],
    ...['--epochs', String(EMBEDDED_PRESET.epochs)],
  ];
}

const points = (x) => (100 * x).toFixed(1);
const signed = (x) => {
  const rounded = Math.round(10 * x) / 10; // so that a mean of -1e-16 reads +0.0
  return `${rounded >= 0 ? '+' : ''}${rounded.toFixed(1)}`;
};
const rows = [];
for (const variant of variants) {
  const runs = seeds.map((seed) => trained(variant, seed));
  const gains = runs.map(({ before, after }) => 100 * (after - before));
  const mean = gains.reduce((sum, gain) => sum + gain, 0) / gains.length;
  const perSeed = runs.map(({ before, after }) => `${points(before)} → ${points(after)}`).join('; ');
  const spread = `${signed(Math.min(...gains))} … ${signed(Math.max(...gains))}`;
  rows.push(`| ${VARIANTS[variant].what} | ${perSeed} | **${signed(mean)}** | ${spread} |`);
}
console.log(
  `| run (seeds ${seeds.join(', ')}) | held-out accuracy before → after, per seed (%) | mean gain (points) | spread |`,
);
console.log('| --- | --- | --- | --- |');
for (const row of rows) console.log(row);
