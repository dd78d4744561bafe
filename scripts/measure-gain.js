#!/usr/bin/env node
/**
 * Measures what `genius-native train` gains on the embedded default: held-out greedy accuracy after minus before,
 * per seed, for Genius as shipped and for the ablations on the same seeds. Each run is a plain `train` run in
 * `<out>/<variant>-s<seed>`; a run that is already finished is read back, an unfinished one is resumed, so an
 * interrupted measurement continues where it stopped. Prints a markdown table (the one in the README).
 *
 * Usage: node scripts/measure-gain.js [--out runs/gain] [--seeds 0,1,2] [--variants genius,highest,dpo,code]
 *        [-- extra train flags for every run]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const VARIANTS = {
  genius: { flags: [], what: 'Genius (foresight re-sampling, ACO with the paper weight)' },
  highest: { flags: ['--strategy', 'highest'], what: 'greedy steps: the top-M candidates, no re-sampling' },
  dpo: { flags: ['--loss', 'dpo'], what: 'DPO instead of ACO' },
  code: { flags: ['--aco-weight', 'reference-code'], what: "ACO with the reference code's weight max(1, ·)" },
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

function accuracy(run, when) {
  const file = path.join(run, `eval-${when}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).report.greedyAccuracy : undefined;
}

function trained(variant, seed) {
  const run = path.join(values.out, `${variant}-s${seed}`);
  if (accuracy(run, 'after') === undefined) {
    const resume = fs.existsSync(path.join(run, 'train.json')) ? ['--resume'] : [];
    const args = [cli, 'train', '--seed', String(seed), '--out', run, ...VARIANTS[variant].flags, ...resume];
    const started = Date.now();
    const result = spawnSync(process.execPath, [...args, ...positionals], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) throw new Error(`train failed (exit ${result.status}): ${args.join(' ')}`);
    console.error(`${variant} seed ${seed}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return { before: accuracy(run, 'before'), after: accuracy(run, 'after') };
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
