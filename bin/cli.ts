/** The genius-native command line: one yargs command module per file in bin/commands/. */
import yargs from 'yargs';
import { GeniusError, version } from '../lib';
import { infoCommand } from './commands/info';

export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(argv)
      .scriptName('genius-native')
      .version(version)
      .command(infoCommand)
      .demandCommand(1, 'Name a command; `genius-native --help` lists them.')
      .strict()
      .help()
      .parseAsync();
  } catch (error) {
    // Our own errors are expected outcomes (bad input, missing files): print them without a stack.
    const message =
      error instanceof GeniusError || (error as { code?: string }).code?.startsWith('ERR_GENIUS_')
        ? `genius-native: ${(error as Error).message} [${(error as { code: string }).code}]`
        : (error as Error).stack;
    console.error(message);
    process.exitCode = 1;
  }
}
