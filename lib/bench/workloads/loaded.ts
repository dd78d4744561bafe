/** What a worker has loaded before its workload is prepared. */
import type { Model } from '../../model/model';
import type { Tokenizer } from '../../text/tokenizer';
import type { MeasureParams, ResultOf, WorkerWorkload } from '../protocol';

export interface Loaded {
  /** Absent for workloads that need no model. */
  model?: Model;
  tokenizer?: Tokenizer;
  device: string;
}

/** One measurement's work, prepared: everything not to be timed is done before it is returned. */
export type Run<W extends WorkerWorkload> = (params: MeasureParams) => Promise<ResultOf[W]>;

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`this workload needs ${what}`);
  return value;
}
