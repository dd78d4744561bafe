/**
 * Loads the native addon: a prebuild for this platform first, then the local build, then whatever
 * node-gyp-build finds (e.g. GENIUS_NATIVE_PREBUILD). GENIUS_NATIVE_ADDON names one file to use instead. On failure the error lists every file tried,
 * why each failed, and the command that fixes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, GeniusError } from './errors';
import type { NativeAddon } from './native-types';
import { packageRoot } from './package-root';

function candidates(): string[] {
  // An explicit addon file, e.g. one built into another directory with `build-native.js --out`.
  if (process.env.GENIUS_NATIVE_ADDON) return [path.resolve(process.env.GENIUS_NATIVE_ADDON)];
  const prebuildDir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  const prebuilds = fs.existsSync(prebuildDir)
    ? fs
        .readdirSync(prebuildDir)
        .filter((file) => file.endsWith('.node'))
        .map((file) => path.join(prebuildDir, file))
    : [];
  return [...prebuilds, path.join(packageRoot, 'build', 'Release', 'genius-native.node')];
}

function explain(message: string): string {
  const missing = /lib([\w.-]+)\.so[.\d]*: cannot open shared object file/.exec(message);
  if (missing) {
    return `libtorch is missing (${missing[0]}); the addon looks for it where it was built against. Rebuild against an installed libtorch: \`npm run build\` (see README: how libtorch is found)`;
  }
  if (/undefined symbol/.test(message)) {
    return 'the libtorch found at run time differs from the one the addon was built against; rebuild with `npm run build`';
  }
  return message.split('\n')[0];
}

function load(): NativeAddon {
  const failures: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      failures.push(`  ${file}: not built`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node file loads only through require
      return require(file) as NativeAddon;
    } catch (error) {
      failures.push(`  ${file}: ${explain((error as Error).message)}`);
    }
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- node-gyp-build ships no types
    return (require('node-gyp-build') as (dir: string) => NativeAddon)(packageRoot);
  } catch (error) {
    failures.push(`  node-gyp-build: ${(error as Error).message.split('\n')[0]}`);
  }
  throw new GeniusError(
    ErrorCode.NativeLoad,
    [
      `genius-native could not load its native addon for ${process.platform}-${process.arch} (Node ${process.version}).`,
      'Tried:',
      ...failures,
      'Fix: run `npm install` in the genius-native package (it finds or installs libtorch and builds the addon);',
      'set LIBTORCH=/path/to/libtorch to build against a libtorch of your own.',
    ].join('\n'),
  );
}

let addon: NativeAddon | undefined;

/** The native addon, loaded on first use so that `--help` works even when it cannot load. */
export function native(): NativeAddon {
  addon ??= load();
  return addon;
}
