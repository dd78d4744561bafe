/** The genius-native command line: one yargs command module per file in bin/commands/. */
import yargs, { type CommandModule } from 'yargs';
import { version } from '../lib';
import { isGeniusError } from '../lib/errors';
import { generateCommand } from './commands/generate';
import { infoCommand } from './commands/info';
import { launchCommand } from './commands/launch';
import { optimizeCommand } from './commands/optimize';
import { sftCommand } from './commands/sft';
import { exploreCommand } from './commands/explore';
import { pairsCommand } from './commands/pairs';
import { evalCommand } from './commands/eval';
import { benchCommand } from './commands/bench';
import { serveCommand } from './commands/serve';
import { mergeCommand } from './commands/merge';
import { trainCommand } from './commands/train';
import { UsageError } from './usage';

const commands = [
  trainCommand,
  infoCommand,
  optimizeCommand,
  sftCommand,
  exploreCommand,
  pairsCommand,
  evalCommand,
  generateCommand,
  serveCommand,
  mergeCommand,
  benchCommand,
  launchCommand,
] as CommandModule<object, never>[];
export const COMMANDS = commands.map((command) => String(command.command).split(' ')[0]);

export async function main(argv: string[]): Promise<void> {
  try {
    await commands
      .reduce((parser, command) => parser.command(command), yargs(argv).scriptName('genius-native').version(version))
      .demandCommand(1, 'Name a command; `genius-native --help` lists them.')
      .option('debug', { type: 'boolean', default: false, describe: 'print the stack trace of an error', global: true })
      .strict()
      .help()
      // A command's own failure goes to the catch below (yargs would print the whole help and exit); yargs' own
      // usage mistakes (a missing or unknown flag) become usage errors.
      .fail((message, error) => {
        if (error) throw error;
        throw new UsageError(message);
      })
      .parseAsync();
  } catch (error) {
    // One line, no stack: our own errors are expected outcomes (bad input, missing files) and say what to fix; any
    // other is a bug, whose stack --debug prints.
    const text = error instanceof Error ? error.message : String(error);
    console.error(
      isGeniusError(error)
        ? `genius-native: ${text} [${error.code}]`
        : `genius-native: unexpected error: ${text} (please report it; --debug prints its stack)`,
    );
    if (argv.includes('--debug') && error instanceof Error) console.error(error.stack);
    if (error instanceof UsageError) {
      const command = COMMANDS.find((name) => name === argv[0]);
      console.error(`Run \`genius-native ${command ? `${command} ` : ''}--help\` for the flags.`);
    }
    process.exitCode = 1;
  }
}
