/**
 * `genius-native launch`: starts and supervises this machine's ranks of a distributed run, as `torchrun` does but
 * without Python (lib/dist/launcher.ts). The command after `--` is a genius-native command (`-- train --out run`)
 * or any other program (`-- node my-script.js`).
 */
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, launch } from '../../lib/dist/launcher';
import { UsageError } from '../usage';

interface LaunchArgs {
  'nproc-per-node': number;
  nnodes: number;
  'node-rank': number;
  'master-addr': string;
  'master-port': number;
  'max-restarts': number;
  '--'?: (string | number)[];
}

/** The commands whose --resume continues the run a failed attempt left, which a restart adds. */
const RESUMABLE_COMMANDS = ['train', 'explore', 'optimize', 'sft'];

export const launchCommand: CommandModule<object, LaunchArgs> = {
  command: 'launch',
  describe: 'Run a command as this machine’s ranks of a distributed run (torchrun’s environment, no Python)',
  builder: (yargs) =>
    yargs
      .parserConfiguration({ 'populate--': true })
      .usage('$0 launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] -- <command>')
      .option('nproc-per-node', { type: 'number', demandOption: true, describe: 'ranks on this machine' })
      .option('nnodes', { type: 'number', default: 1, describe: 'machines in the run' })
      .option('node-rank', { type: 'number', default: 0, describe: "this machine's index among them" })
      .option('master-addr', {
        type: 'string',
        default: DEFAULT_MASTER_ADDR,
        describe: 'address of the machine of rank 0, which hosts the store where the ranks meet',
      })
      .option('master-port', { type: 'number', default: DEFAULT_MASTER_PORT, describe: 'port of that store' })
      .option('max-restarts', {
        type: 'number',
        default: 0,
        describe:
          'when a rank fails, restart all ranks this many times at most (a genius-native command with --resume)',
      })
      .example('$0 launch --nproc-per-node 2 -- train --out runs/dp', 'two ranks of one Genius run')
      .example('$0 launch --nproc-per-node 2 -- node my-script.js', 'any program, with RANK, WORLD_SIZE, ... set')
      .epilogue(
        "Each rank's output lines are prefixed with [rank R]. With --max-restarts a genius-native command is " +
          'restarted with --resume, so it continues from its last checkpoint or record.',
      ) as unknown as Argv<LaunchArgs>,
  handler: async (args) => {
    const words = (args['--'] ?? []).map(String);
    if (words.length === 0) throw new UsageError('name the command to launch after --, e.g. `-- train --out runs/dp`');
    // Loaded here, not at the top: cli.ts lists this command.
    const { COMMANDS } = await import('../cli');
    const ownCommand = COMMANDS.includes(words[0]);
    const command = (restart: number): string[] => {
      if (!ownCommand) return words;
      const resume = restart > 0 && RESUMABLE_COMMANDS.includes(words[0]) && !words.includes('--resume');
      // This very CLI, as this process runs it (the same Node flags and entry script).
      return [process.execPath, ...process.execArgv, process.argv[1], ...words, ...(resume ? ['--resume'] : [])];
    };
    process.exitCode = await launch({
      nprocPerNode: args['nproc-per-node'],
      nnodes: args.nnodes,
      nodeRank: args['node-rank'],
      masterAddr: args['master-addr'],
      masterPort: args['master-port'],
      maxRestarts: args['max-restarts'],
      command,
    });
  },
};
