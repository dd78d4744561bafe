/**
 * LoRA on the command line, one definition for every command: --adapter (a PEFT adapter directory to compute with,
 * or to go on training) on every command that loads a model, and the --lora-* flags of a new adapter on the
 * training commands (optimize, sft, train). The defaults are lib/model/lora.ts's.
 */
import type { Argv } from 'yargs';
import { Model, type LoadOptions } from '../lib';
import { DEFAULT_LORA, isAdapterDirectory, LORA_TARGETS, type LoraSettings, type LoraTarget } from '../lib/model/lora';
import type { PlacementArgs } from './placement-flags';
import { UsageError } from './usage';

export interface AdapterArgs {
  adapter?: string;
}

export interface LoraArgs extends AdapterArgs {
  lora: boolean;
  'lora-rank'?: number;
  'lora-alpha'?: number;
  'lora-dropout'?: number;
  'lora-targets'?: LoraTarget[];
}

export function adapterFlag<T>(yargs: Argv<T>): Argv<T & AdapterArgs> {
  return yargs.option('adapter', {
    type: 'string',
    describe: 'LoRA adapter directory (PEFT format) applied to --model without merging',
  }) as Argv<T & AdapterArgs>;
}

const NEW_ADAPTER_FLAGS = ['lora-rank', 'lora-alpha', 'lora-dropout', 'lora-targets'] as const;

/** --adapter, and a new adapter's flags: LoRA is on with --lora or any --lora-* flag; the base weights stay frozen. */
export function loraFlags<T>(yargs: Argv<T>): Argv<T & LoraArgs> {
  return adapterFlag(yargs)
    .option('lora', {
      type: 'boolean',
      default: false,
      describe: 'train a new LoRA adapter (PEFT format) instead of every weight',
    })
    .option('lora-rank', { type: 'number', describe: `LoRA rank r [default: ${DEFAULT_LORA.rank}]` })
    .option('lora-alpha', { type: 'number', describe: `LoRA alpha: scale alpha / r [default: ${DEFAULT_LORA.alpha}]` })
    .option('lora-dropout', {
      type: 'number',
      describe: `dropout on the adapter's input [default: ${DEFAULT_LORA.dropout}]`,
    })
    .option('lora-targets', {
      type: 'array',
      choices: LORA_TARGETS,
      describe: 'projections adapted in every layer [default: all]',
    })
    .check((args) => {
      const given = NEW_ADAPTER_FLAGS.filter((flag) => args[flag] !== undefined);
      if (args.adapter !== undefined && (args.lora || given.length > 0)) {
        throw new UsageError(`--adapter trains the adapter it names: no --lora or --${given[0] ?? 'lora'} with it`);
      }
      return true;
    }) as unknown as Argv<T & LoraArgs>;
}

/** The settings of the new adapter the flags ask for; undefined when they ask for none. */
export function newAdapterOf(args: LoraArgs, seed: number): Partial<LoraSettings> | undefined {
  if (!args.lora && NEW_ADAPTER_FLAGS.every((flag) => args[flag] === undefined)) return undefined;
  return {
    rank: args['lora-rank'],
    alpha: args['lora-alpha'],
    dropout: args['lora-dropout'],
    targets: args['lora-targets'],
    seed,
  };
}

/** Refuses LoRA flags that differ from what the run being resumed trains: they would make it another run. */
function checkResumedAdapter(args: LoraArgs, model: Model, dir: string): void {
  const asked = newAdapterOf(args, 0);
  if (asked === undefined) return;
  const adapter = model.adapter;
  if (adapter === undefined)
    throw new UsageError(`the run in ${dir} trains every weight: no --lora flags to resume it`);
  const differs = (['rank', 'alpha', 'dropout'] as const).find(
    (key) => asked[key] !== undefined && asked[key] !== adapter[key],
  );
  const targets = asked.targets && [...asked.targets].sort().join(',') !== [...adapter.targets].sort().join(',');
  if (differs !== undefined || targets) {
    const flag = differs ?? 'targets';
    const trained = differs !== undefined ? adapter[differs] : adapter.targets.join(' ');
    throw new UsageError(
      `--lora-${flag} differs from the run in ${dir}, which trains an adapter of ${flag} ${trained}`,
    );
  }
}

/**
 * The model a training command trains: the checkpoint in `out` when resuming (a LoRA run's is an adapter over
 * `model`), else `model` with the adapter --adapter names or a new one the --lora flags ask for, else `model` alone.
 */
export async function loadTrainedModel(
  args: LoraArgs & PlacementArgs,
  model: string,
  resumeFrom: string | undefined,
  seed: number,
  options: LoadOptions = {},
): Promise<Model> {
  const placement = { ...options, device: args.device, dtype: args.dtype };
  if (resumeFrom !== undefined) {
    const resumed = isAdapterDirectory(resumeFrom)
      ? await Model.load(model, { ...placement, adapter: resumeFrom })
      : await Model.load(resumeFrom, placement);
    try {
      checkResumedAdapter(args, resumed, resumeFrom);
    } catch (error) {
      resumed.dispose();
      throw error;
    }
    return resumed;
  }
  return await Model.load(model, { ...placement, adapter: args.adapter, lora: newAdapterOf(args, seed) });
}
