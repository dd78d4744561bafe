/** A directory that cannot be written, for the tests of output checks, whoever runs them. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A read-only directory (mode 0555); as root, who writes through any mode, a directory under /proc, where no one
 * can make files.
 */
export function unwritableDirectory(): string {
  if (process.getuid?.() === 0) return '/proc/genius-native-test';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-read-only-'));
  fs.chmodSync(dir, 0o555);
  return dir;
}
