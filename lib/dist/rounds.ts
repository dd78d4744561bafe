/**
 * Batches shared out between the ranks of a group, round by round: in round k rank r runs batch k·size + r, so a
 * batch holds exactly what it would in one process (the same rounding of batched arithmetic, the same results),
 * and a round's results, gathered from every rank, come in batch order. Exploration and evaluation share their
 * queries this way; without a group a round is one batch.
 */
import type { ProcessGroup } from './process-group';

export interface Round<T> {
  /** The round's batches, in order: one per rank (fewer in the last round). */
  batches: T[][];
  /** This rank's batch; undefined when the last round has none left for it. */
  mine: T[] | undefined;
}

/** `items` in batches of `batchSize`, round by round. */
export function* rounds<T>(items: readonly T[], batchSize: number, group?: ProcessGroup): Generator<Round<T>> {
  const size = group?.size ?? 1;
  const rank = group?.rank ?? 0;
  for (let start = 0; start < items.length; start += batchSize * size) {
    const batches: T[][] = [];
    for (let offset = start; offset < Math.min(items.length, start + batchSize * size); offset += batchSize) {
      batches.push(items.slice(offset, offset + batchSize));
    }
    yield { batches, mine: batches[rank] };
  }
}

/** Every rank's results of a round (anything JSON can hold), in batch order: what each rank passes, rank by rank. */
export async function gatherRound<R>(group: ProcessGroup | undefined, results: R[]): Promise<R[]> {
  if (group === undefined) return results;
  return (await group.allGatherJson(results)).flat() as R[];
}
