/**
 * `genius-native train`: the whole Genius method in one resumable run — evaluate, then per iteration explore →
 * pairs → optimise, then evaluate again, and write a report. With no flags it runs on the embedded default model
 * (models/default) and data (data/changes) with the embedded preset (lib/train/presets.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_EXPLORE_OPTIONS, REJECTED_SAMPLINGS, type DType, type RejectedSampling } from '../../lib';
import { completeLines, JsonLinesAppender } from '../../lib/data/jsonl';
import { pairedBootstrap, type GainInterval } from '../../lib/eval/bootstrap';
import type { QueryResult } from '../../lib/eval/evaluate';
import { gainText, writeReport, type RunEvaluation, type RunStep } from '../../lib/eval/report';
import { runPipeline, type PipelineOptions } from '../../lib/genius/pipeline';
import { EMBEDDED_PRESET, REFERENCE_PRESET, type RunPreset } from '../../lib/train/presets';
import { packageRoot } from '../../lib/package-root';
import { exploreFlags, exploreOptionsOf, type ExploreFlagArgs } from '../explore-flags';
import { Interrupt } from '../interrupt';
import { ProgressReporter } from '../progress';
import { lossOptionsOf, preferenceFlags, type PreferenceArgs } from '../training';

interface TrainArgs extends ExploreFlagArgs, PreferenceArgs {
  model: string;
  queries: string;
  eval?: string;
  out?: string;
  iterations?: number;
  rejected: RejectedSampling;
  'shuffle-sides': boolean;
  lr?: number;
  'warmup-ratio': number;
  'weight-decay': number;
  'max-grad-norm'?: number;
  'batch-size'?: number;
  'grad-accum'?: number;
  epochs?: number;
  'max-length': number;
  'update-reference': boolean;
  'eval-samples': number;
  device: string;
  dtype?: DType;
  resume: boolean;
  json: boolean;
}

const embedded = (...parts: string[]): string => path.join(packageRoot, ...parts);

const PRESETS = 'the embedded preset with models/default, else the reference preset (lib/train/presets.ts)';

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Run Genius end to end: evaluate, explore → pairs → optimise (per iteration), evaluate, report',
  builder: (yargs) =>
    preferenceFlags(exploreFlags(yargs), PRESETS)
      .option('model', { type: 'string', default: embedded('models', 'default'), describe: 'starting policy' })
      .option('queries', {
        type: 'string',
        default: embedded('data', 'changes', 'queries.jsonl'),
        describe: 'unlabeled queries',
      })
      .option('eval', {
        type: 'string',
        describe: 'labeled held-out problems (default: the embedded test split with the embedded model)',
      })
      .option('out', { type: 'string', describe: 'run directory (default runs/<timestamp>)' })
      .option('iterations', { type: 'number', describe: `explore → optimise rounds [default: ${PRESETS}]` })
      .option('rejected', { choices: REJECTED_SAMPLINGS, default: DEFAULT_EXPLORE_OPTIONS.rejected })
      .option('shuffle-sides', {
        type: 'boolean',
        default: DEFAULT_EXPLORE_OPTIONS.shuffleSides,
        describe: 'control: swap chosen and rejected in a random half of the pairs',
      })
      .option('lr', { type: 'number', describe: `peak learning rate [default: ${PRESETS}]` })
      .option('warmup-ratio', { type: 'number', default: 0.1 })
      .option('weight-decay', { type: 'number', default: 0 })
      .option('max-grad-norm', { type: 'number', describe: `clip (0: off) [default: ${PRESETS}]` })
      .option('batch-size', { type: 'number', describe: `pairs per forward [default: ${PRESETS}]` })
      .option('grad-accum', { type: 'number', describe: `micro-batches per optimizer step [default: ${PRESETS}]` })
      .option('epochs', { type: 'number', describe: `[default: ${PRESETS}]` })
      .option('max-length', { type: 'number', default: 1300 })
      .option('update-reference', {
        type: 'boolean',
        default: false,
        describe: 'each iteration’s reference is its starting policy',
      })
      .option('eval-samples', {
        type: 'number',
        default: 0,
        describe: 'sampled answers per eval problem besides greedy',
      })
      .option('device', { type: 'string', default: 'cpu' })
      .option('dtype', { choices: ['float32', 'bfloat16', 'float16'] as DType[] })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'JSON lines on stdout',
      }) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const usingEmbedded = path.resolve(args.model) === embedded('models', 'default');
    const evalFile = args.eval ?? (usingEmbedded ? embedded('data', 'changes', 'test.jsonl') : undefined);
    const base = usingEmbedded ? EMBEDDED_PRESET : REFERENCE_PRESET;
    const preset: RunPreset = {
      lr: args.lr ?? base.lr,
      microBatch: args['batch-size'] ?? base.microBatch,
      gradAccum: args['grad-accum'] ?? base.gradAccum,
      maxGradNorm: args['max-grad-norm'] ?? base.maxGradNorm,
      epochs: args.epochs ?? base.epochs,
      beta: args.beta ?? base.beta,
      nllWeight: args['nll-weight'] ?? base.nllWeight,
      iterations: args.iterations ?? base.iterations,
    };
    if (args.resume && args.out === undefined) throw new Error('--resume needs --out (the run directory to continue)');
    const out = args.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
    if (!args.resume && fs.existsSync(out) && fs.readdirSync(out).length > 0) {
      throw new Error(`${out} holds a run already: resume it with --resume, or choose another --out`);
    }
    fs.mkdirSync(out, { recursive: true });
    const pipeline: Omit<PipelineOptions, 'signal'> = {
      model: args.model,
      queries: args.queries,
      eval: evalFile,
      out,
      iterations: preset.iterations,
      explore: { ...exploreOptionsOf(args), rejected: args.rejected, shuffleSides: args['shuffle-sides'] },
      train: {
        ...lossOptionsOf(args),
        beta: preset.beta,
        nllWeight: preset.nllWeight,
        lr: preset.lr,
        warmupRatio: args['warmup-ratio'],
        weightDecay: args['weight-decay'],
        maxGradNorm: preset.maxGradNorm,
        microBatch: preset.microBatch,
        gradAccum: preset.gradAccum,
        epochs: preset.epochs,
        seed: args.seed,
      },
      evaluation: { samples: args['eval-samples'], seed: args.seed },
      maxLength: args['max-length'],
      updateReference: args['update-reference'],
      load: { device: args.device, dtype: args.dtype },
    };
    // The run's settings, each option once, as the pipeline reads them.
    const settings = pipeline as unknown as Record<string, unknown>;
    if (!args.resume) fs.writeFileSync(path.join(out, 'train.json'), `${JSON.stringify(settings, null, 2)}\n`);

    const say = (message: string): void => {
      if (args.json) console.log(JSON.stringify({ event: 'note', message }));
      else console.error(message);
    };
    using interrupt = new Interrupt();
    const metricsFile = path.join(out, 'metrics.jsonl');
    const steps = (await completeLines(metricsFile)) as RunStep[];
    const metrics = await JsonLinesAppender.open(metricsFile);
    const progress = new ProgressReporter('explore', 'queries', args.json);
    const started = performance.now();
    const evaluations: RunEvaluation[] = [];
    let first: QueryResult[] | undefined;
    let gain: GainInterval | undefined;
    try {
      const events = runPipeline({ ...pipeline, signal: interrupt.signal });
      for await (const event of events) {
        switch (event.type) {
          case 'stage':
            progress.stop();
            say(`train: ${event.stage}${event.iteration ? ` (iteration ${event.iteration})` : ''}`);
            break;
          case 'explore':
            if (event.event.type === 'progress') {
              progress.update({ ...event.event, done: event.event.queriesDone, total: event.event.queriesTotal });
            }
            break;
          case 'pairs':
            say(
              `train: ${event.pairs} pairs (${event.truncated} truncated, ${event.dropped} dropped) in ${event.file}`,
            );
            break;
          case 'step': {
            const { metrics: m } = event;
            const step: RunStep = {
              iteration: event.iteration,
              step: m.step,
              loss: m.loss,
              margin: m.margin,
              accuracy: m.accuracy,
            };
            steps.push(step);
            await metrics.append({ ...step, lr: m.lr, gradNorm: m.gradNorm, tokensPerSecond: m.tokensPerSecond });
            if (args.json) console.log(JSON.stringify({ event: 'step', ...step, lr: m.lr }));
            else
              say(
                `  step ${m.step}/${m.totalSteps}  loss ${m.loss.toFixed(4)}  margin ${m.margin.toFixed(4)}  acc ${m.accuracy.toFixed(2)}  lr ${m.lr.toExponential(2)}`,
              );
            break;
          }
          case 'evaluation': {
            evaluations.push({ iteration: event.iteration, report: event.report });
            first ??= event.results;
            if (event.iteration > 0) {
              gain = pairedBootstrap(
                first.map((result) => result.greedy.correct),
                event.results.map((result) => result.greedy.correct),
                { seed: args.seed },
              );
            }
            const policy = event.iteration === 0 ? 'before' : `after iteration ${event.iteration}`;
            const accuracy = `${(100 * event.report.greedyAccuracy).toFixed(1)}% of ${event.report.queries}`;
            if (args.json) {
              console.log(JSON.stringify({ event: 'evaluation', iteration: event.iteration, ...event.report, gain }));
            } else say(`train: held-out accuracy ${policy}: ${accuracy}${gain ? `; gain ${gainText(gain)}` : ''}`);
            break;
          }
          case 'done': {
            const report = await writeReport(out, {
              evaluations,
              gain,
              steps,
              settings,
              seconds: (performance.now() - started) / 1000,
            });
            if (args.json) console.log(JSON.stringify({ event: 'done', model: event.model, report }));
            else say(`train: trained model in ${event.model}; report in ${report}`);
            break;
          }
        }
      }
    } catch (error) {
      if (!interrupt.stopped(error)) throw error;
      progress.stop();
      say(`train: stopped; continue with --resume --out ${out}`);
      process.exitCode = 130;
    } finally {
      progress.stop();
      await metrics.close();
    }
  },
};
