/** Where a command puts its model, one definition for every command that loads one: --device and --dtype. */
import type { Argv } from 'yargs';
import type { DType } from '../lib';

/** The dtypes a model can compute in (and be saved in). */
export const MODEL_DTYPES: DType[] = ['float32', 'bfloat16', 'float16'];

export interface PlacementArgs {
  device: string;
  dtype?: DType;
}

export function placementFlags<T>(yargs: Argv<T>): Argv<T & PlacementArgs> {
  return yargs.option('device', { type: 'string', default: 'cpu', describe: 'cpu, cuda or cuda:N' }).option('dtype', {
    choices: MODEL_DTYPES,
    describe: 'weights dtype (default: the one they are stored in)',
  }) as Argv<T & PlacementArgs>;
}
