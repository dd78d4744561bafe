/** The genius-native command line: one yargs command module per file in bin/commands/. */
import yargs from 'yargs';
import { ErrorCode, GeniusError, version } from '../lib';
import { generateCommand } from './commands/generate';
import { infoCommand } from './commands/info';
import { optimizeCommand } from './commands/optimize';
import { sftCommand } from './commands/sft';
import { exploreCommand } from './commands/explore';
import { pairsCommand } from './commands/pairs';
import { evalCommand } from './commands/eval';
import { benchCommand } from './commands/bench';
import { trainCommand } from './commands/train';

export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(argv)
      .scriptName('genius-native')
      .version(version)
      .command(trainCommand)
      .command(infoCommand)
      .command(optimizeCommand)
      .command(sftCommand)
      .command(exploreCommand)
      .command(pairsCommand)
      .command(evalCommand)
      .command(generateCommand)
      .command(benchCommand)
      .demandCommand(1, 'Name a command; `genius-native --help` lists them.')
      .strict()
      .help()
      // A command's own failure goes to the catch below (yargs would print the help and exit); usage mistakes
      // still get the help text.
      .fail((message, error, parser) => {
        if (error) throw error;
        parser.showHelp();
        throw new GeniusError(ErrorCode.InvalidArgument, message);
      })
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
