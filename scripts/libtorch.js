'use strict';
// Finds the libtorch the addon builds against, in the documented order:
//   1. LIBTORCH                        a libtorch directory (include/ and lib/ inside)
//   2. CMAKE_PREFIX_PATH / TORCH_CMAKE_PREFIX   a prefix holding share/cmake/Torch
//   3. a python3 (or $PYTHON) that can `import torch`
//   4. the project's own .venv, created and filled from requirements.txt when nothing else is found
// Returns { root, source, python? } where root holds include/ and lib/ of libtorch.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const projectRoot = path.resolve(__dirname, '..');
const venvDir = path.join(projectRoot, '.venv');
const venvPython = path.join(venvDir, 'bin', 'python');

function isLibtorchRoot(dir) {
  return fs.existsSync(path.join(dir, 'include', 'torch')) && fs.existsSync(path.join(dir, 'lib', 'libtorch.so'));
}

// share/cmake/Torch sits two levels below the libtorch root.
function rootFromCmakePrefix(prefix) {
  for (const candidate of [prefix, path.resolve(prefix, '..', '..'), path.resolve(prefix, '..', '..', '..')]) {
    if (isLibtorchRoot(candidate)) return candidate;
  }
  return null;
}

function torchFromPython(python) {
  const probe = spawnSync(python, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) return null;
  const root = probe.stdout.trim();
  return isLibtorchRoot(root) ? root : null;
}

function createVenv(log) {
  const python = process.env.PYTHON || 'python3';
  log(`No libtorch found (LIBTORCH, CMAKE_PREFIX_PATH, TORCH_CMAKE_PREFIX unset; ${python} cannot import torch).`);
  log(`Creating ${path.relative(process.cwd(), venvDir) || venvDir} and installing requirements.txt from PyPI:`);
  log('  torch ships libtorch (headers + shared libraries) for the addon, and the same venv runs the');
  log('  Python reference (transformers, tokenizers, safetensors) that tests and benchmarks compare against.');
  const run = (cmd, args) => {
    const result = spawnSync(cmd, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      throw new Error(`genius-native setup: \`${cmd} ${args.join(' ')}\` failed (exit ${result.status}).`);
    }
  };
  if (!fs.existsSync(venvPython)) run(python, ['-m', 'venv', venvDir]);
  run(venvPython, ['-m', 'pip', 'install', '--progress-bar', 'off', '-r', path.join(projectRoot, 'requirements.txt')]);
}

function findLibtorch({ install = false, log = () => {} } = {}) {
  if (process.env.LIBTORCH) {
    const root = path.resolve(process.env.LIBTORCH);
    if (!isLibtorchRoot(root)) {
      throw new Error(`LIBTORCH=${root} is not a libtorch directory (expected include/torch and lib/libtorch.so).`);
    }
    return { root, source: 'LIBTORCH' };
  }
  for (const variable of ['TORCH_CMAKE_PREFIX', 'CMAKE_PREFIX_PATH']) {
    for (const prefix of (process.env[variable] || '').split(path.delimiter).filter(Boolean)) {
      const root = rootFromCmakePrefix(path.resolve(prefix));
      if (root) return { root, source: variable };
    }
  }
  if (fs.existsSync(venvPython)) {
    const root = torchFromPython(venvPython);
    if (root) return { root, source: '.venv', python: venvPython };
  }
  const python = process.env.PYTHON || 'python3';
  const systemRoot = torchFromPython(python);
  if (systemRoot) return { root: systemRoot, source: python, python };
  if (!install) return null;
  createVenv(log);
  const root = torchFromPython(venvPython);
  if (!root) throw new Error(`genius-native setup: ${venvPython} still cannot import torch after installing it.`);
  return { root, source: '.venv (created)', python: venvPython };
}

// The C++ ABI libtorch was built with: its strings are std::__cxx11 ones when the flag is 1.
function cxx11Abi(root) {
  const nm = spawnSync('nm', ['-DC', path.join(root, 'lib', 'libc10.so')], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (nm.status !== 0) return 1;
  return nm.stdout.includes('std::__cxx11::basic_string') ? 1 : 0;
}

function pythonSitePackages(python) {
  return execFileSync(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], {
    encoding: 'utf8',
  }).trim();
}

module.exports = { findLibtorch, cxx11Abi, pythonSitePackages, projectRoot, venvPython };
