/** `genius-native pairs`: exploration records → preference pairs (one per explored step), for optimisation. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import {
  DEFAULT_EXPLORE_OPTIONS,
  ErrorCode,
  GeniusError,
  REJECTED_SAMPLINGS,
  RECORDS_FILE,
  SETTINGS_FILE,
  Tokenizer,
  readRecords,
  recordPairs,
  type ChatTemplateArgs,
  type ExploreSettings,
  type RejectedSampling,
} from '../../lib';
import { writeJsonLines } from '../../lib/data/jsonl';
import { chatTemplateFlags, chatTemplateKwargsOf, type ChatTemplateFlagArgs } from '../chat-template-flags';

interface PairsArgs extends ChatTemplateFlagArgs {
  records: string;
  model?: string;
  out?: string;
  rejected: RejectedSampling;
  tau: number;
  'shuffle-sides': boolean;
  seed: number;
  json: boolean;
}

/** The records file and, for a run directory, the model it explored with and its chat-template arguments. */
async function locateRecords(
  where: string,
): Promise<{ file: string; model?: string; chatTemplate?: ChatTemplateArgs }> {
  const stat = await fs.stat(where).catch(() => undefined);
  if (!stat?.isDirectory()) return { file: where };
  const settings = await fs
    .readFile(path.join(where, SETTINGS_FILE), 'utf8')
    .then((text) => JSON.parse(text) as ExploreSettings)
    .catch(() => undefined);
  return { file: path.join(where, RECORDS_FILE), model: settings?.model, chatTemplate: settings?.options.chatTemplate };
}

export const pairsCommand: CommandModule<object, PairsArgs> = {
  command: 'pairs',
  describe: 'Build preference pairs from exploration records',
  builder: (yargs) =>
    chatTemplateFlags(yargs, "the prompts are rendered with them (default: a run's, with the time it explored at)")
      .option('records', { type: 'string', demandOption: true, describe: 'records JSONL, or an explore run directory' })
      .option('model', {
        type: 'string',
        describe: "directory of the tokenizer whose chat template renders the prompts (default: a run's model)",
      })
      .option('out', { type: 'string', describe: 'pairs JSONL (default: pairs.jsonl beside the records)' })
      .option('rejected', {
        choices: REJECTED_SAMPLINGS,
        default: DEFAULT_EXPLORE_OPTIONS.rejected,
        describe: "rejected trajectory: the paper's re-sampling, or uniform (the reference code)",
      })
      .option('tau', {
        type: 'number',
        default: DEFAULT_EXPLORE_OPTIONS.tau,
        describe: 'τ of the softmax that the paper draws rejected trajectories from',
      })
      .option('shuffle-sides', {
        type: 'boolean',
        default: DEFAULT_EXPLORE_OPTIONS.shuffleSides,
        describe: 'control: swap chosen and rejected in a random half of the pairs',
      })
      .option('seed', { type: 'number', default: 0, describe: 'seeds the rejected draws' })
      .option('json', { type: 'boolean', default: false, describe: 'summary as JSON' }),
  handler: async (args) => {
    const located = await locateRecords(args.records);
    const model = args.model ?? located.model;
    if (model === undefined) {
      throw new GeniusError(
        ErrorCode.InvalidArgument,
        `--model is needed: ${args.records} is not an explore run directory`,
      );
    }
    const tokenizer = await Tokenizer.fromDir(model);
    const records = await readRecords(located.file);
    const kwargs = chatTemplateKwargsOf(args);
    const chatTemplate = kwargs === undefined ? located.chatTemplate : { kwargs };
    const options = {
      rejected: args.rejected,
      tau: args.tau,
      seed: args.seed,
      shuffleSides: args['shuffle-sides'],
      chatTemplate,
    };
    const pairs = records.flatMap((record) => recordPairs(record, tokenizer, options));
    const out = args.out ?? path.join(path.dirname(located.file), 'pairs.jsonl');
    await writeJsonLines(out, pairs);
    if (args.json)
      console.log(JSON.stringify({ event: 'done', records: records.length, pairs: pairs.length, file: out }));
    else console.error(`pairs: ${pairs.length} pairs from ${records.length} records in ${out}`);
  },
};
