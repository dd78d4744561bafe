/** `genius-native explore`: foresight sampling over unlabeled queries into a run directory of records. */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import {
  DEFAULT_EXPLORE_OPTIONS,
  Genius,
  Model,
  STRATEGIES,
  Tokenizer,
  openExploreRun,
  readQueries,
  resolveExploreOptions,
  type DType,
  type Strategy,
} from '../../lib';
import { Interrupt } from '../interrupt';
import { ProgressReporter } from '../progress';

interface ExploreArgs {
  model: string;
  queries: string;
  out: string;
  beams: number;
  rollouts: number;
  foresight: number;
  'step-temperature': number;
  'rollout-temperature': number;
  tau: number;
  mode: 'full' | 'light';
  strategy: Strategy;
  'max-tokens': number;
  'final-max-tokens': number;
  'queries-in-flight': number;
  seed: number;
  device: string;
  dtype?: DType;
  resume: boolean;
  json: boolean;
}

const defaults = DEFAULT_EXPLORE_OPTIONS;

export const exploreCommand: CommandModule<object, ExploreArgs> = {
  command: 'explore',
  describe: 'Explore unlabeled queries with foresight sampling; write one record per query',
  builder: (yargs) =>
    yargs
      .option('model', { type: 'string', demandOption: true, describe: 'model directory (with its tokenizer)' })
      .option('queries', { type: 'string', demandOption: true, describe: 'JSON list or JSONL of {instruction}' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory (records.jsonl, explore.json)' })
      .option('beams', { type: 'number', default: defaults.beams, describe: 'M: beams per query' })
      .option('rollouts', { type: 'number', default: defaults.rollouts, describe: 'N: candidate steps per beam' })
      .option('foresight', { type: 'number', default: defaults.foresightSteps, describe: 'K: foresight steps' })
      .option('step-temperature', { type: 'number', default: defaults.stepTemperature })
      .option('rollout-temperature', { type: 'number', default: defaults.rolloutTemperature })
      .option('tau', { type: 'number', default: defaults.tau, describe: 'τ of the re-sampling softmax' })
      .option('mode', {
        choices: ['full', 'light'] as const,
        default: defaults.mode,
        describe: 'light: skip foresight when every candidate step is confident',
      })
      .option('strategy', { choices: STRATEGIES, default: defaults.strategy, describe: 'how beams are selected' })
      .option('max-tokens', { type: 'number', default: defaults.maxTokens, describe: 'per step and per rollout' })
      .option('final-max-tokens', { type: 'number', default: defaults.finalMaxTokens, describe: 'per final part' })
      .option('queries-in-flight', {
        type: 'number',
        default: defaults.queriesInFlight,
        describe: 'queries explored together in each native call',
      })
      .option('seed', { type: 'number', default: defaults.seed })
      .option('device', { type: 'string', default: 'cpu', describe: 'cpu, cuda or cuda:N' })
      .option('dtype', { choices: ['float32', 'bfloat16', 'float16'] as DType[], describe: 'weights dtype' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out' })
      .option('json', { type: 'boolean', default: false, describe: 'progress and summary as JSON lines' }),
  handler: async (args) => {
    const options = resolveExploreOptions({
      beams: args.beams,
      rollouts: args.rollouts,
      foresightSteps: args.foresight,
      stepTemperature: args['step-temperature'],
      rolloutTemperature: args['rollout-temperature'],
      tau: args.tau,
      mode: args.mode,
      strategy: args.strategy,
      maxTokens: args['max-tokens'],
      finalMaxTokens: args['final-max-tokens'],
      queriesInFlight: args['queries-in-flight'],
      seed: args.seed,
    });
    const queries = await readQueries(args.queries);
    const tokenizer = await Tokenizer.fromDir(args.model);
    const settings = { model: path.resolve(args.model), queries: path.resolve(args.queries), options };
    await using run = await openExploreRun(args.out, settings, args.resume);
    using interrupt = new Interrupt();
    const progress = new ProgressReporter('explore', 'queries', args.json);
    let written = 0;
    try {
      using model = await Model.load(args.model, { device: args.device, dtype: args.dtype, signal: interrupt.signal });
      const genius = new Genius(model, tokenizer, options);
      for await (const event of genius.explore(queries, { signal: interrupt.signal, skip: run.finished })) {
        if (event.type === 'progress') {
          progress.update({ ...event, done: event.queriesDone, total: event.queriesTotal });
        } else if (event.type === 'record') {
          await run.append(event.record);
          written++;
        }
      }
    } catch (error) {
      if (!interrupt.stopped(error)) throw error;
      progress.stop();
      progress.note(`explore: stopped; ${run.recordsFile} holds every finished query (continue with --resume)`);
      process.exitCode = 130;
      return;
    } finally {
      progress.stop();
    }
    const total = run.finished.length + written;
    if (args.json) console.log(JSON.stringify({ event: 'done', records: total, written, file: run.recordsFile }));
    else console.error(`explore: ${total} records in ${run.recordsFile} (${written} new)`);
  },
};
