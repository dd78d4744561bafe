/**
 * The launch environment of a distributed run, in torchrun's conventions: RANK, WORLD_SIZE, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT. `torchrun`, `genius-native launch` and Slurm (through torchrun)
 * set them for every process they start; a process with neither RANK nor WORLD_SIZE set runs on its own.
 */
import { ErrorCode, GeniusError, invalidArgument } from '../errors';

export interface LaunchEnvironment {
  /** This process's rank among all of the run's, in [0, worldSize). */
  rank: number;
  worldSize: number;
  /** Its rank among the processes of its machine, in [0, localWorldSize): which GPU it takes. */
  localRank: number;
  localWorldSize: number;
  /** Where rank 0 hosts the store at which the ranks meet. */
  masterAddr: string;
  masterPort: number;
  /** Set by torchrun (TORCHELASTIC_USE_AGENT_STORE=True): its agent hosts the store, not rank 0. */
  agentStore: boolean;
  /** Which start of the run this is: 0, then 1 after the first restart (TORCHELASTIC_RESTART_COUNT). */
  restartCount: number;
}

/** The variables, in the order they are checked. */
export const LAUNCH_VARIABLES = [
  'WORLD_SIZE',
  'RANK',
  'LOCAL_WORLD_SIZE',
  'LOCAL_RANK',
  'MASTER_ADDR',
  'MASTER_PORT',
] as const;

function badEnvironment(problem: string): never {
  throw new GeniusError(ErrorCode.DistEnv, `launch environment: ${problem}`);
}

/**
 * The launch environment in `env` (default process.env), checked; undefined when neither RANK nor WORLD_SIZE is
 * set. Throws ERR_GENIUS_DIST_ENV naming the variable that is missing, not an integer or out of range.
 */
export function readLaunchEnvironment(env: NodeJS.ProcessEnv = process.env): LaunchEnvironment | undefined {
  if (typeof env !== 'object' || env === null) invalidArgument('env', 'an object of environment variables');
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) return undefined;
  const read = (name: string, fallback?: string): string => {
    const value = env[name] ?? fallback;
    if (value === undefined || value.trim() === '') {
      badEnvironment(
        `${name} is not set (a distributed run needs all of ${LAUNCH_VARIABLES.join(', ')}, as torchrun sets them)`,
      );
    }
    return value.trim();
  };
  const integer = (name: string, min: number, max: number, fallback?: string): number => {
    const text = read(name, fallback);
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      badEnvironment(`${name}=${text} must be an integer in [${min}, ${max}]`);
    }
    return value;
  };
  const worldSize = integer('WORLD_SIZE', 1, 1 << 20);
  const rank = integer('RANK', 0, worldSize - 1);
  const localWorldSize = integer('LOCAL_WORLD_SIZE', 1, worldSize);
  const localRank = integer('LOCAL_RANK', 0, localWorldSize - 1);
  const masterAddr = read('MASTER_ADDR');
  const masterPort = integer('MASTER_PORT', 1, 65535);
  // torchrun's own: a run started without it is on its first start, with rank 0 hosting the store.
  const agentStore = env.TORCHELASTIC_USE_AGENT_STORE === 'True';
  const restartCount = integer('TORCHELASTIC_RESTART_COUNT', 0, 1 << 20, '0');
  return { rank, worldSize, localRank, localWorldSize, masterAddr, masterPort, agentStore, restartCount };
}
