#!/usr/bin/env node
'use strict';
// Formats (or with --check, verifies) the C++/CUDA sources under native/ with the clang-format
// binary from the `clang-format` npm package, so every machine formats alike. Skips third_party/.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const binary = path.join(
  root,
  'node_modules',
  'clang-format',
  'bin',
  `${process.platform}_${process.arch === 'x64' ? 'x64' : process.arch}`,
  'clang-format',
);

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'third_party' ? [] : sources(file);
    return /\.(cc|h|cu|cuh)$/.test(entry.name) ? [file] : [];
  });
}

const check = process.argv.includes('--check');
const args = check
  ? ['--dry-run', '--Werror', ...sources(path.join(root, 'native'))]
  : ['-i', ...sources(path.join(root, 'native'))];
const result = spawnSync(binary, args, { stdio: 'inherit' });
if (result.error) {
  console.error(`clang-format: cannot run ${binary}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
