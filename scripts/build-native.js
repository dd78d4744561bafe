#!/usr/bin/env node
'use strict';
// Builds the native addon with cmake-js against the libtorch that scripts/libtorch.js finds
// (installing one into .venv when none is found). Run by `npm install`.
//   (no flag)    skip the build when a prebuild for this platform loads; else build incrementally
//   --force      always build
//   --out DIR    build into DIR instead of build/ (the addon is DIR/Release/genius-native.node)
//   --print-env  print the libtorch and CUDA compiler that would be used, build nothing
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findLibtorch, cxx11Abi, pythonSitePackages, projectRoot } = require('./libtorch');

const argv = process.argv.slice(2);
const args = new Set(argv);
const outDir = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : 'build';
const log = (line) => console.log(`[genius-native] ${line}`);

function prebuildLoads() {
  const dir = path.join(projectRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  const name = fs.existsSync(dir) && fs.readdirSync(dir).find((file) => file.endsWith('.node'));
  if (!name) return false;
  const prebuild = path.join(dir, name);
  try {
    require(prebuild);
    log(`using prebuild ${path.relative(projectRoot, prebuild)}`);
    return true;
  } catch (error) {
    log(`prebuild ${prebuild} does not load here (${error.message.split('\n')[0]}); building from source`);
    return false;
  }
}

// A CUDA compiler: CUDACXX, nvcc on PATH, or PyPI's nvidia-cuda-nvcc wheel beside torch.
function findNvcc(libtorch) {
  if (process.env.CUDACXX) return process.env.CUDACXX;
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  if (!libtorch.python) return null;
  const nvidia = path.join(pythonSitePackages(libtorch.python), 'nvidia');
  for (const wheelDir of ['cu13', 'cuda_nvcc']) {
    const nvcc = path.join(nvidia, wheelDir, 'bin', 'nvcc');
    if (fs.existsSync(nvcc)) return nvcc;
  }
  return null;
}

function main() {
  if (!args.has('--force') && !args.has('--print-env') && prebuildLoads()) return;

  const libtorch = findLibtorch({ install: !args.has('--print-env'), log });
  if (!libtorch) throw new Error('no libtorch found; run `npm install` to create .venv with torch');
  const hasCudaTorch = fs.existsSync(path.join(libtorch.root, 'lib', 'libtorch_cuda.so'));
  const nvcc = hasCudaTorch ? findNvcc(libtorch) : null;
  log(`libtorch: ${libtorch.root} (found via ${libtorch.source})`);
  if (!hasCudaTorch) log('CUDA: this libtorch is CPU-only; building without CUDA kernels');
  else if (!nvcc)
    log(
      'CUDA: libtorch has CUDA but no nvcc was found (PATH, CUDACXX, nvidia-cuda-nvcc wheel); building CPU-only kernels',
    );
  else log(`CUDA: compiling native/kernels with ${nvcc}`);
  if (args.has('--print-env')) return;

  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  // `cmake-js build` skips configuring an already configured tree, and with it our -D values (a new
  // libtorch, CUDA on or off): configure explicitly every time; it is cheap next to compiling.
  const cmakeArgs = [
    cmakeJs,
    'configure',
    '--out',
    outDir,
    `--CDGENIUS_TORCH_ROOT=${libtorch.root}`,
    `--CDGENIUS_CXX11_ABI=${cxx11Abi(libtorch.root)}`,
    `--CDGENIUS_CUDA=${nvcc ? 'ON' : 'OFF'}`,
  ];
  if (nvcc) {
    cmakeArgs.push(`--CDCMAKE_CUDA_COMPILER=${nvcc}`);
    // The nvcc wheel's profile points the linker at lib64/, but the wheel ships lib/.
    const wheelLib = path.resolve(path.dirname(nvcc), '..', 'lib');
    if (fs.existsSync(path.join(wheelLib, 'libcudart_static.a'))) cmakeArgs.push(`--CDCMAKE_CUDA_FLAGS=-L${wheelLib}`);
  }
  if (spawnSync('sh', ['-c', 'command -v ccache'], { stdio: 'ignore' }).status === 0) {
    cmakeArgs.push('--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache');
  }
  const started = Date.now();
  const configure = spawnSync(process.execPath, cmakeArgs, { stdio: 'inherit', cwd: projectRoot });
  if (configure.status !== 0) throw new Error(`cmake-js configure failed (exit ${configure.status})`);
  const parallel = String(Math.max(1, require('node:os').availableParallelism()));
  const build = spawnSync(process.execPath, [cmakeJs, 'build', '--out', outDir, '--parallel', parallel], {
    stdio: 'inherit',
    cwd: projectRoot,
  });
  if (build.status !== 0) throw new Error(`cmake-js build failed (exit ${build.status})`);
  log(`built ${outDir}/Release/genius-native.node in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  main();
} catch (error) {
  console.error(`[genius-native] ${error.message}`);
  process.exit(1);
}
