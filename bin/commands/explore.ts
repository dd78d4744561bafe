/** `genius-native explore`: foresight sampling over unlabeled queries into a run directory of records. */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import {
  Genius,
  Model,
  RECORDS_FILE,
  Tokenizer,
  openExploreRun,
  readQueries,
  resolveExploreOptions,
  type ExploreRun,
} from '../../lib';
import { fromRankZero } from '../../lib/dist/process-group';
import { checkOutputDirectory } from '../../lib/data/output-directory';
import { fittingQueries } from '../../lib/genius/query-lengths';
import { readModelConfig } from '../../lib/model/config';
import { distFlags, joinLaunchedRun, type DistArgs } from '../dist-flags';
import { exploreFlags, exploreOptionsOf, type ExploreFlagArgs } from '../explore-flags';
import { Interrupt } from '../interrupt';
import { ProgressReporter } from '../progress';
import { adapterFlag, type AdapterArgs } from '../lora-flags';
import { placementFlags, type PlacementArgs } from '../placement-flags';
import { queryFieldFlag } from '../query-field-flags';
import { chatTemplateFlags, chatTemplateKwargsOf, type ChatTemplateFlagArgs } from '../chat-template-flags';

interface ExploreArgs extends ExploreFlagArgs, PlacementArgs, AdapterArgs, ChatTemplateFlagArgs, DistArgs {
  model: string;
  queries: string;
  'query-field': string;
  out: string;
  resume: boolean;
  'skip-long': boolean;
  json: boolean;
}

export const exploreCommand: CommandModule<object, ExploreArgs> = {
  command: 'explore',
  describe: 'Explore unlabeled queries with foresight sampling; write one record per query',
  builder: (yargs) =>
    chatTemplateFlags(
      exploreFlags(adapterFlag(distFlags(placementFlags(yargs)))),
      "each query is rendered with them, recorded in explore.json with the time the run's prompts are stamped with",
    )
      .option('model', { type: 'string', demandOption: true, describe: 'model directory (with its tokenizer)' })
      .option('queries', {
        type: 'string',
        demandOption: true,
        describe: 'unlabeled queries: Parquet, a JSON list or JSON lines (docs/formats.md)',
      })
      .option('query-field', queryFieldFlag('--queries'))
      .option('out', { type: 'string', demandOption: true, describe: 'run directory (records.jsonl, explore.json)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out' })
      .option('skip-long', {
        type: 'boolean',
        default: false,
        describe: "leave out queries too long for the model's positions (default: refuse them)",
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'progress and summary as JSON lines',
      }) as unknown as Argv<ExploreArgs>,
  handler: async (args) => {
    // Everything is read and checked against the model before the run directory is made or any work done.
    const chatTemplate = { kwargs: chatTemplateKwargsOf(args) ?? {} };
    const options = resolveExploreOptions({ ...exploreOptionsOf(args), chatTemplate });
    await checkOutputDirectory(args.out, 'out');
    const tokenizer = await Tokenizer.fromDir(args.model);
    const config = readModelConfig(args.model);
    tokenizer.checkFits({ dir: args.model, config });
    const { queries, skipped } = fittingQueries(
      args.queries,
      await readQueries(args.queries, { queryField: args['query-field'] }),
      tokenizer,
      config.maxPositions,
      args['skip-long'],
      chatTemplate,
    );
    const settings = {
      model: path.resolve(args.model),
      ...(args.adapter !== undefined && { adapter: path.resolve(args.adapter) }),
      queries: path.resolve(args.queries),
      queryField: args['query-field'],
      options,
    };
    using group = await joinLaunchedRun(args);
    // Rank 0 keeps the run directory; every rank explores its share with the run's options and gets every record.
    let opened: ExploreRun | undefined;
    const kept = await fromRankZero(group, async () => {
      opened = await openExploreRun(args.out, settings, args.resume);
      return { finished: opened.finished, options: opened.settings.options };
    });
    await using run = opened;
    using interrupt = new Interrupt();
    const progress = new ProgressReporter('explore', 'queries', args.json, run === undefined);
    if (skipped.length > 0) progress.note(`explore: ${skipped.length} queries too long for the model left out`);
    const recordsFile = path.join(args.out, RECORDS_FILE);
    let written = 0;
    try {
      using model = await Model.load(args.model, {
        device: args.device,
        dtype: args.dtype,
        adapter: args.adapter,
        signal: interrupt.signal,
      });
      // The run's own options: a resumed run's chat template keeps the time it started with.
      const genius = new Genius(model, tokenizer, kept.options);
      for await (const event of genius.explore(queries, { signal: interrupt.signal, skip: kept.finished, group })) {
        if (event.type === 'progress') {
          progress.update({ ...event, done: event.queriesDone, total: event.queriesTotal });
        } else if (event.type === 'record') {
          await run?.append(event.record);
          written++;
        }
      }
    } catch (error) {
      if (!interrupt.stopped(error)) throw error;
      progress.stop();
      progress.note(`explore: stopped; ${recordsFile} holds every finished query (continue with --resume)`);
      process.exitCode = 130;
      return;
    } finally {
      progress.stop();
    }
    if (run === undefined) return;
    const total = kept.finished.length + written;
    if (args.json) {
      console.log(JSON.stringify({ event: 'done', records: total, written, skipped, file: recordsFile }));
    } else console.error(`explore: ${total} records in ${recordsFile} (${written} new)`);
  },
};
