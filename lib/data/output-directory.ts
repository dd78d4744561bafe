/**
 * Output directories (a run, a checkpoint, an exploration run, a saved model): checked before any work and made
 * without hanging. A path that is a file is never an output directory (genius-native writes over nothing that is
 * not its own), and one that cannot be written (a read-only mount, no permission, /proc) is refused before the
 * work rather than at its first save. Whether a non-empty directory is ours to continue is each caller's check.
 */
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, GeniusError, invalidArgument, writing } from '../errors';

async function statOf(file: string): Promise<Stats | undefined> {
  return await fs.stat(file).catch(() => undefined);
}

/**
 * Checks that `dir` (named by the argument `argument`) is a directory, or can be made as one, and that files can
 * be written there; returns its entries ([] for a directory still to be made). Nothing is left behind.
 */
export async function checkOutputDirectory(dir: string, argument: string): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') invalidArgument(argument, 'a directory path');
  const resolved = path.resolve(dir);
  let existing = resolved;
  let stats = await statOf(existing);
  while (stats === undefined && path.dirname(existing) !== existing) {
    existing = path.dirname(existing);
    stats = await statOf(existing);
  }
  if (stats !== undefined && !stats.isDirectory()) {
    invalidArgument(argument, `a directory: ${existing} is a file${existing === resolved ? '' : ` (in ${dir})`}`);
  }
  // The one sure test of writability (root passes every permission check; a read-only mount refuses root too).
  const probe = path.join(existing, `.genius-native-write-test-${process.pid}`);
  try {
    await fs.writeFile(probe, '');
    await fs.rm(probe, { force: true });
  } catch (error) {
    throw new GeniusError(
      ErrorCode.FileSystem,
      `argument '${argument}' must be a directory that can be written: ${existing} refuses new files (${(error as Error).message})`,
      { cause: error },
    );
  }
  return existing === resolved ? await fs.readdir(resolved) : [];
}

/**
 * Makes `dir` and its missing parents, one level at a time: Node 20's recursive mkdir loops forever where the
 * system refuses a directory with ENOENT under an existing parent (/proc/x/run).
 */
export async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let level = path.resolve(dir); (await statOf(level)) === undefined; level = path.dirname(level)) {
    missing.unshift(level);
    if (path.dirname(level) === level) break;
  }
  for (const level of missing) {
    await writing(level, 'make the directory', () =>
      fs.mkdir(level).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      }),
    );
  }
  if (!(await statOf(dir))?.isDirectory()) {
    throw new GeniusError(ErrorCode.FileSystem, `${dir}: cannot make the directory (a file is there)`);
  }
}
