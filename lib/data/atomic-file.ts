/**
 * Whole-file writes that a crash cannot leave half done: the text goes to a temporary file beside the target, which
 * is then renamed over it (a rename within a directory is atomic), so a reader sees the old file or the new one.
 */
import fs from 'node:fs/promises';
import { writing } from '../errors';

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writing(file, 'write', async () => {
    try {
      await fs.writeFile(temporary, text);
      await fs.rename(temporary, file);
    } catch (error) {
      // A full disk leaves a partial temporary file: it is never read, but would fill the directory.
      await fs.rm(temporary, { force: true });
      throw error;
    }
  });
}
