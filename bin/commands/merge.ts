/**
 * `genius-native merge`: a LoRA adapter merged into its base model (W + scale·B·A, as PEFT's merge_and_unload),
 * written as a Hugging Face model directory with the base's tokenizer and generation_config.json beside it.
 */
import type { CommandModule } from 'yargs';
import { Model, type DType } from '../../lib';
import { invalidArgument } from '../../lib/errors';
import { checkOutputDirectory } from '../../lib/data/output-directory';
import { copyModelFiles } from '../../lib/train/checkpoint';
import { MODEL_DTYPES, placementFlags, type PlacementArgs } from '../placement-flags';

interface MergeArgs extends PlacementArgs {
  model: string;
  adapter: string;
  out: string;
  'save-dtype'?: DType;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge',
  describe: 'Merge a LoRA adapter into its base model and write the merged model',
  builder: (yargs) =>
    placementFlags(yargs)
      .option('model', { type: 'string', demandOption: true, describe: 'the base model directory' })
      .option('adapter', { type: 'string', demandOption: true, describe: 'LoRA adapter directory (PEFT format)' })
      .option('out', {
        type: 'string',
        demandOption: true,
        describe: 'where the merged model is written (new or empty)',
      })
      .option('save-dtype', {
        choices: MODEL_DTYPES,
        describe: 'dtype of the written weights (default: the base model’s)',
      }),
  handler: async (args) => {
    if ((await checkOutputDirectory(args.out, 'out')).length > 0) {
      invalidArgument('out', `a new or empty directory: ${args.out} holds files`);
    }
    using model = await Model.load(args.model, { device: args.device, dtype: args.dtype, adapter: args.adapter });
    await model.save(args.out, { dtype: args['save-dtype'] });
    await copyModelFiles(args.model, args.out);
    console.error(`merge: ${args.adapter} merged into ${args.model}, written to ${args.out}`);
  },
};
