/**
 * ProcessGroup: this process's place in a run spread over many processes, on libtorch's own distributed engine
 * (c10d: a TCPStore at rank 0 where the ranks meet, Gloo between CPU processes, NCCL between GPUs). Collectives
 * are Promises that settle once every rank has taken part; every rank must issue the same collectives in the same
 * order. Each waits at most the group's timeout: a rank that died or hung makes the others fail with
 * ERR_GENIUS_DIST_PEER instead of waiting forever.
 *
 *   const launch = readLaunchEnvironment();   // torchrun's RANK, WORLD_SIZE, MASTER_ADDR, ...
 *   using group = await ProcessGroup.join(launch, { timeoutSeconds: 600 });
 *   await group.allReduce([gradients]);
 */
import { ErrorCode, GeniusError, invalidArgument, isGeniusError } from '../errors';
import { native } from '../native';
import type { NativeProcessGroup } from '../native-types';
import { Tensor } from '../tensor';
import type { LaunchEnvironment } from './environment';

/** How long joining waits for every rank, and a collective for its peers, unless told: PyTorch's default. */
export const DEFAULT_DIST_TIMEOUT_SECONDS = 1800;

export interface JoinOptions {
  /** Default DEFAULT_DIST_TIMEOUT_SECONDS. */
  timeoutSeconds?: number;
  /** 'cpu' (Gloo, the default) or 'cuda:N' (NCCL; a CUDA build only). */
  device?: string;
}

// Closes the connections of a group dropped without dispose().
const collected = new FinalizationRegistry<NativeProcessGroup>((handle) => handle.dispose());

export class ProcessGroup implements Disposable {
  #handle: NativeProcessGroup | undefined;

  private constructor(handle: NativeProcessGroup) {
    this.#handle = handle;
    collected.register(this, handle, this);
  }

  /**
   * Meets the other ranks at rank 0's store and connects to them; resolves once all have. Throws
   * ERR_GENIUS_DIST_RENDEZVOUS when MASTER_PORT is taken or not every rank arrives within the timeout.
   */
  static async join(launch: LaunchEnvironment, options: JoinOptions = {}): Promise<ProcessGroup> {
    if (typeof launch !== 'object' || launch === null) invalidArgument('launch', 'a launch environment (readLaunchEnvironment)');
    if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_DIST_TIMEOUT_SECONDS;
    if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
      invalidArgument('timeoutSeconds', 'a number of seconds > 0');
    }
    const { rank, worldSize, masterAddr, masterPort } = launch;
    const handle = await native().createProcessGroup({
      rank,
      worldSize,
      masterAddr,
      masterPort,
      hostStore: rank === 0 && !launch.agentStore,
      storePrefix: `genius/attempt_${launch.restartCount}`,
      timeoutMs: Math.max(1, Math.round(timeoutSeconds * 1000)),
      device: options.device ?? 'cpu',
    });
    return new ProcessGroup(handle);
  }

  /** @internal The native handle of `group`, for native calls that run collectives of their own (a trainer's). */
  static handleOf(group: unknown, name: string): NativeProcessGroup {
    if (!(group instanceof ProcessGroup)) {
      throw new GeniusError(ErrorCode.InvalidHandle, `argument '${name}' is not a ProcessGroup`);
    }
    return group.live();
  }

  get rank(): number {
    return this.live().rank;
  }

  get size(): number {
    return this.live().size;
  }

  /** Sums each tensor over the ranks, in place, in one collective (they must share a dtype). */
  async allReduce(tensors: readonly Tensor[]): Promise<void> {
    await this.live().allReduce(tensors.map((tensor, i) => Tensor.handleOf(tensor, `tensors[${i}]`)));
  }

  /** Rank `root`'s values into every rank's `tensor`, in place. */
  async broadcast(tensor: Tensor, root: number): Promise<void> {
    await this.live().broadcast(Tensor.handleOf(tensor, 'tensor'), root);
  }

  /** Every rank's tensor, in rank order; their first dimensions may differ. */
  async allGather(tensor: Tensor): Promise<Tensor[]> {
    const gathered = await this.live().allGather(Tensor.handleOf(tensor, 'tensor'));
    return gathered.map((handle) => Tensor.fromNative(handle));
  }

  /** Every rank's `value` (anything JSON can hold), in rank order. */
  async allGatherJson<T>(value: T): Promise<T[]> {
    const gathered = await this.live().allGatherBytes(new TextEncoder().encode(JSON.stringify(value)));
    const decoder = new TextDecoder();
    return gathered.map((bytes) => JSON.parse(decoder.decode(bytes)) as T);
  }

  /** Resolves once every rank has called it. */
  async barrier(): Promise<void> {
    await this.live().barrier();
  }

  /** Leaves the group, closing its connections (those of the collectives in flight once they settle). */
  dispose(): void {
    if (this.#handle === undefined) return;
    collected.unregister(this);
    this.#handle.dispose();
    this.#handle = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private live(): NativeProcessGroup {
    if (this.#handle === undefined) throw new GeniusError(ErrorCode.Disposed, 'this process group was disposed');
    return this.#handle;
  }
}

/**
 * Runs `work` on rank 0 alone and settles every rank as it settled: with its result (anything JSON can hold), or
 * its error, code and message. For what one rank decides for all: claiming a directory, reading what it holds.
 * Without a group, `work` simply runs.
 */
export async function fromRankZero<T>(group: ProcessGroup | undefined, work: () => Promise<T>): Promise<T> {
  if (group === undefined) return await work();
  let outcome: { value?: T; error?: { code: ErrorCode; message: string } } = {};
  let thrown: unknown;
  if (group.rank === 0) {
    try {
      outcome = { value: await work() };
    } catch (error) {
      thrown = error;
      const { code, message } = isGeniusError(error)
        ? error
        : { code: ErrorCode.Internal, message: `rank 0 failed: ${String(error)}` };
      outcome = { error: { code, message } };
    }
  }
  const [shared] = await group.allGatherJson(outcome);
  if (thrown !== undefined) throw thrown;
  if (shared.error) throw new GeniusError(shared.error.code, `on rank 0: ${shared.error.message}`);
  return shared.value as T;
}
