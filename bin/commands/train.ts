/**
 * `genius-native train`: the whole Genius method in one resumable run directory (runPipeline, lib/genius/pipeline.ts)
 * — evaluate, then per iteration explore → pairs → optimise, evaluate, and write a report. This command only turns
 * flags into the pipeline's options and its events into lines; with no flags the library's defaults apply (the
 * embedded model and data, with the embedded preset).
 */
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_EXPLORE_OPTIONS, REJECTED_SAMPLINGS, type DType, type RejectedSampling } from '../../lib';
import { gainText } from '../../lib/eval/report';
import { runPipeline, type PipelineOptions } from '../../lib/genius/pipeline';
import { DEFAULT_TRAIN_OPTIONS } from '../../lib/train/options';
import { joinLaunchedRun, shardFlags, type ShardArgs } from '../dist-flags';
import { exploreFlags, exploreOptionsOf, type ExploreFlagArgs } from '../explore-flags';
import { Interrupt } from '../interrupt';
import { loraFlags, newAdapterOf, type LoraArgs } from '../lora-flags';
import { ProgressReporter } from '../progress';
import {
  lossOptionsOf,
  optimizerFlags,
  optimizerOptionsOf,
  preferenceFlags,
  type OptimizerArgs,
  type PreferenceArgs,
} from '../training';
import { MODEL_DTYPES } from '../placement-flags';
import { answerFieldFlag, queryFieldFlag } from '../query-field-flags';
import { chatTemplateFlags, chatTemplateKwargsOf, type ChatTemplateFlagArgs } from '../chat-template-flags';

interface TrainArgs extends ExploreFlagArgs, PreferenceArgs, OptimizerArgs, LoraArgs, ChatTemplateFlagArgs, ShardArgs {
  model?: string;
  queries?: string;
  'query-field': string;
  eval?: string;
  'eval-query-field': string;
  'answer-field': string;
  out?: string;
  iterations?: number;
  rejected: RejectedSampling;
  'shuffle-sides': boolean;
  'update-reference': boolean;
  'eval-samples'?: number;
  device?: string;
  dtype?: DType;
  resume: boolean;
  'skip-long': boolean;
  json: boolean;
}

const PRESETS = 'the embedded preset with models/default, else the reference preset (lib/train/presets.ts)';

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Run Genius end to end: evaluate, explore → pairs → optimise (per iteration), evaluate, report',
  builder: (yargs) =>
    chatTemplateFlags(
      loraFlags(
        optimizerFlags(preferenceFlags(exploreFlags(shardFlags(yargs)), PRESETS), DEFAULT_TRAIN_OPTIONS, PRESETS),
      ),
      'each query is rendered with them (exploration and evaluation), recorded in train.json with the time ' +
        "the run's prompts are stamped with",
    )
      .option('model', { type: 'string', describe: 'starting policy [default: the embedded model, models/default]' })
      .option('queries', {
        type: 'string',
        describe:
          'unlabeled queries: Parquet, a JSON list or JSON lines (docs/formats.md) [default: the embedded queries, ' +
          'data/changes/queries.jsonl]',
      })
      .option('query-field', queryFieldFlag('--queries'))
      .option('eval', {
        type: 'string',
        describe:
          'labeled held-out problems, in the same formats [default: the embedded test split with the embedded model]',
      })
      .option('eval-query-field', queryFieldFlag('--eval'))
      .option('answer-field', answerFieldFlag('--eval'))
      .option('out', { type: 'string', describe: 'run directory [default: runs/<timestamp>]' })
      .option('iterations', { type: 'number', describe: `explore → optimise rounds [default: ${PRESETS}]` })
      .option('rejected', { choices: REJECTED_SAMPLINGS, default: DEFAULT_EXPLORE_OPTIONS.rejected })
      .option('shuffle-sides', {
        type: 'boolean',
        default: DEFAULT_EXPLORE_OPTIONS.shuffleSides,
        describe: 'control: swap chosen and rejected in a random half of the pairs',
      })
      .option('update-reference', {
        type: 'boolean',
        default: false,
        describe: 'each iteration’s reference is its starting policy (default: the starting policy, frozen)',
      })
      .option('eval-samples', {
        type: 'number',
        describe: 'sampled answers per eval problem besides greedy [default: 0]',
      })
      .option('device', { type: 'string', describe: 'cpu, cuda or cuda:N [default: cpu]' })
      .option('dtype', { choices: MODEL_DTYPES })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out' })
      .option('skip-long', {
        type: 'boolean',
        default: false,
        describe: "leave out queries and eval problems too long for the model's positions (default: refuse them)",
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'JSON lines on stdout',
      }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    using group = await joinLaunchedRun(args);
    // The ranks run one run; rank 0 reports it.
    const lead = (group?.rank ?? 0) === 0;
    const { seed, ...explore } = exploreOptionsOf(args);
    const options: Omit<PipelineOptions, 'signal'> = {
      model: args.model,
      queries: args.queries,
      queryField: args['query-field'],
      eval: args.eval,
      evalFields: { queryField: args['eval-query-field'], answerField: args['answer-field'] },
      out: args.out,
      resume: args.resume,
      iterations: args.iterations,
      seed,
      chatTemplate: { kwargs: chatTemplateKwargsOf(args) },
      explore: { ...explore, rejected: args.rejected, shuffleSides: args['shuffle-sides'] },
      train: { ...optimizerOptionsOf(args), ...lossOptionsOf(args) },
      evaluation: { samples: args['eval-samples'] },
      maxLength: args['max-length'],
      skipLong: args['skip-long'],
      updateReference: args['update-reference'],
      load: { device: args.device, dtype: args.dtype, adapter: args.adapter, lora: newAdapterOf(args, seed) },
      shardOptimizer: args['shard-optimizer'],
    };
    const say = (message: string): void => {
      if (args.json) console.log(JSON.stringify({ event: 'note', message }));
      else console.error(message);
    };
    using interrupt = new Interrupt();
    const progress = new ProgressReporter('explore', 'queries', args.json, !lead);
    let dir = args.out;
    let startingModel: string | undefined;
    try {
      for await (const event of runPipeline({ ...options, signal: interrupt.signal, group })) {
        if (!lead) continue;
        switch (event.type) {
          case 'start':
            dir = event.dir;
            startingModel = event.settings.model;
            say(`train: run directory ${dir}`);
            if (event.skipped.queries.length + event.skipped.eval.length > 0) {
              const { queries, eval: problems } = event.skipped;
              say(
                `train: left out as too long for the model: ${queries.length} queries, ${problems.length} held-out problems`,
              );
            }
            break;
          case 'stage':
            progress.stop();
            say(`train: ${event.stage}${event.iteration ? ` (iteration ${event.iteration})` : ''}`);
            break;
          case 'progress':
            progress.update({ ...event, done: event.queriesDone, total: event.queriesTotal });
            break;
          case 'pairs':
            say(
              `train: ${event.pairs} pairs (${event.truncated} truncated, ${event.dropped} dropped) in ${event.file}`,
            );
            break;
          case 'step': {
            const { metrics: m } = event;
            if (args.json) {
              const { iteration } = event;
              const fields = { step: m.step, loss: m.loss, margin: m.margin, accuracy: m.accuracy, lr: m.lr };
              console.log(JSON.stringify({ event: 'step', iteration, ...fields }));
            } else {
              say(
                `  step ${m.step}/${m.totalSteps}  loss ${m.loss.toFixed(4)}  margin ${m.margin.toFixed(4)}  acc ${m.accuracy.toFixed(2)}  lr ${m.lr.toExponential(2)}`,
              );
            }
            break;
          }
          case 'evaluation': {
            const { iteration, report, gain } = event;
            const policy = iteration === 0 ? 'before' : `after iteration ${iteration}`;
            const accuracy = `${(100 * report.greedyAccuracy).toFixed(1)}% of ${report.queries}`;
            if (args.json) console.log(JSON.stringify({ event: 'evaluation', iteration, ...report, gain }));
            else say(`train: held-out accuracy ${policy}: ${accuracy}${gain ? `; gain ${gainText(gain)}` : ''}`);
            break;
          }
          case 'done': {
            // No iteration found pairs to train on: the model is the starting one, and the line says so.
            const trained = event.model !== startingModel;
            if (args.json) {
              console.log(JSON.stringify({ event: 'done', model: event.model, trained, report: event.report }));
            } else if (trained) {
              say(`train: trained model in ${event.model}; report in ${event.report}`);
            } else {
              say(
                `train: no pairs to train on, so nothing was trained (the model is ${event.model}); report in ${event.report}`,
              );
            }
            break;
          }
        }
      }
    } catch (error) {
      if (!interrupt.stopped(error)) throw error;
      progress.stop();
      say(`train: stopped; continue with --resume --out ${dir}`);
      process.exitCode = 130;
    } finally {
      progress.stop();
    }
  },
};
