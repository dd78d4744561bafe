/**
 * What the commands that can run as one rank of a distributed run share (train, explore, eval, optimize, sft):
 * --dist-timeout, and joining the run that torchrun's environment describes, as `torchrun` or
 * `genius-native launch` set it; without it, a command runs alone.
 */
import type { Argv } from 'yargs';
import { readLaunchEnvironment } from '../lib/dist/environment';
import { DEFAULT_DIST_TIMEOUT_SECONDS, ProcessGroup } from '../lib/dist/process-group';
import type { PlacementArgs } from './placement-flags';

export interface DistArgs {
  'dist-timeout': number;
}

export function distFlags<T>(yargs: Argv<T>): Argv<T & DistArgs> {
  return yargs.option('dist-timeout', {
    type: 'number',
    default: DEFAULT_DIST_TIMEOUT_SECONDS,
    describe: 'under torchrun or launch: seconds a rank waits for the others (to meet, in each collective)',
  }) as Argv<T & DistArgs>;
}

/** What a command that trains adds: --shard-optimizer. */
export interface ShardArgs extends DistArgs {
  'shard-optimizer': boolean;
}

export function shardFlags<T>(yargs: Argv<T>): Argv<T & ShardArgs> {
  return distFlags(yargs).option('shard-optimizer', {
    type: 'boolean',
    default: false,
    describe: "under torchrun or launch: share AdamW's moments out between the ranks (ZeRO-1); the same weights",
  }) as Argv<T & ShardArgs>;
}

/**
 * The process group of the run this process is a rank of, joined; undefined when it runs alone (no launch
 * environment, or WORLD_SIZE=1). Under a launch `--device cuda` is this rank's GPU, cuda:LOCAL_RANK, and
 * args.device says so from then on.
 */
export async function joinLaunchedRun(args: DistArgs & Partial<PlacementArgs>): Promise<ProcessGroup | undefined> {
  const launch = readLaunchEnvironment();
  if (launch === undefined || launch.worldSize === 1) return undefined;
  if (args.device === 'cuda') args.device = `cuda:${launch.localRank}`;
  return await ProcessGroup.join(launch, {
    timeoutSeconds: args['dist-timeout'],
    device: args.device?.startsWith('cuda') ? args.device : 'cpu',
  });
}
