/**
 * `genius-native train`: the whole Genius method in one resumable run — evaluate, then per iteration explore →
 * pairs → optimise, then evaluate again, and write a report. With no flags it runs on the embedded default model
 * (models/default) and data (data/arith): a few minutes on a laptop CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_EXPLORE_OPTIONS, REJECTED_SAMPLINGS, type DType, type RejectedSampling } from '../../lib';
import { completeLines, JsonLinesAppender } from '../../lib/data/jsonl';
import type { EvaluationReport } from '../../lib/eval/evaluate';
import { writeReport, type RunStep } from '../../lib/eval/report';
import { runPipeline } from '../../lib/genius/pipeline';
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
  iterations: number;
  rejected: RejectedSampling;
  'shuffle-sides': boolean;
  lr?: number;
  'warmup-ratio': number;
  'weight-decay': number;
  'max-grad-norm'?: number;
  'batch-size'?: number;
  'grad-accum'?: number;
  epochs: number;
  'max-length': number;
  'update-reference': boolean;
  'eval-samples': number;
  device: string;
  dtype?: DType;
  resume: boolean;
  json: boolean;
}

const embedded = (...parts: string[]): string => path.join(packageRoot, ...parts);

type Optimizer = Required<Pick<TrainArgs, 'lr' | 'batch-size' | 'grad-accum' | 'max-grad-norm'>>;
/** The reference's optimiser (GENIUS.md): 128-pair steps at 5e-7, for real models and their 100K pairs. */
const REFERENCE_OPTIMIZER: Optimizer = { lr: 5e-7, 'batch-size': 1, 'grad-accum': 128, 'max-grad-norm': 0 };
/**
 * The embedded default's: its ~400 pairs make 3 steps of 128, and 5e-7 does not move a 3M-parameter model, so
 * 16-pair steps at 3e-5, clipped. The rate is the largest of 1e-5, 3e-5, 1e-4 that did not lower held-out accuracy
 * (README, "What the embedded default gains").
 */
const EMBEDDED_OPTIMIZER: Optimizer = { lr: 3e-5, 'batch-size': 8, 'grad-accum': 2, 'max-grad-norm': 1 };

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Run Genius end to end: evaluate, explore → pairs → optimise (per iteration), evaluate, report',
  builder: (yargs) =>
    preferenceFlags(exploreFlags(yargs))
      .option('model', { type: 'string', default: embedded('models', 'default'), describe: 'starting policy' })
      .option('queries', {
        type: 'string',
        default: embedded('data', 'arith', 'queries.jsonl'),
        describe: 'unlabeled queries',
      })
      .option('eval', {
        type: 'string',
        describe: 'labeled held-out problems (default: the embedded set with the embedded model)',
      })
      .option('out', { type: 'string', describe: 'run directory (default runs/<timestamp>)' })
      .option('iterations', { type: 'number', default: 1 })
      .option('rejected', { choices: REJECTED_SAMPLINGS, default: DEFAULT_EXPLORE_OPTIONS.rejected })
      .option('shuffle-sides', {
        type: 'boolean',
        default: DEFAULT_EXPLORE_OPTIONS.shuffleSides,
        describe: 'control: swap chosen and rejected in a random half of the pairs',
      })
      .option('lr', { type: 'number', describe: 'peak learning rate [default: 5e-7; 3e-5 with the embedded model]' })
      .option('warmup-ratio', { type: 'number', default: 0.1 })
      .option('weight-decay', { type: 'number', default: 0 })
      .option('max-grad-norm', { type: 'number', describe: 'clip (0: off) [default: 0; 1 with the embedded model]' })
      .option('batch-size', { type: 'number', describe: 'pairs per forward [default: 1; 8 with the embedded model]' })
      .option('grad-accum', {
        type: 'number',
        describe: 'micro-batches per optimizer step [default: 128; 2 with the embedded model]',
      })
      .option('epochs', { type: 'number', default: 1 })
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
    const evalFile = args.eval ?? (usingEmbedded ? embedded('data', 'arith', 'eval.jsonl') : undefined);
    const preset = usingEmbedded ? EMBEDDED_OPTIMIZER : REFERENCE_OPTIMIZER;
    const optimizer: Optimizer = {
      lr: args.lr ?? preset.lr,
      'batch-size': args['batch-size'] ?? preset['batch-size'],
      'grad-accum': args['grad-accum'] ?? preset['grad-accum'],
      'max-grad-norm': args['max-grad-norm'] ?? preset['max-grad-norm'],
    };
    if (args.resume && args.out === undefined) throw new Error('--resume needs --out (the run directory to continue)');
    const out = args.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
    if (!args.resume && fs.existsSync(out) && fs.readdirSync(out).length > 0) {
      throw new Error(`${out} holds a run already: resume it with --resume, or choose another --out`);
    }
    fs.mkdirSync(out, { recursive: true });
    const settingsFile = path.join(out, 'train.json');
    const settings = { ...args, ...optimizer, eval: evalFile, out, $0: undefined, _: undefined };
    if (!args.resume) fs.writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);

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
    const evaluations: { before?: EvaluationReport; after?: EvaluationReport } = {};
    try {
      const events = runPipeline({
        model: args.model,
        queries: args.queries,
        eval: evalFile,
        out,
        iterations: args.iterations,
        explore: { ...exploreOptionsOf(args), rejected: args.rejected, shuffleSides: args['shuffle-sides'] },
        train: {
          ...lossOptionsOf(args),
          lr: optimizer.lr,
          warmupRatio: args['warmup-ratio'],
          weightDecay: args['weight-decay'],
          maxGradNorm: optimizer['max-grad-norm'],
          microBatch: optimizer['batch-size'],
          gradAccum: optimizer['grad-accum'],
          epochs: args.epochs,
          seed: args.seed,
        },
        evaluation: { samples: args['eval-samples'], seed: args.seed },
        maxLength: args['max-length'],
        updateReference: args['update-reference'],
        load: { device: args.device, dtype: args.dtype },
        signal: interrupt.signal,
      });
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
          case 'evaluation':
            evaluations[event.when] = event.report;
            if (args.json) console.log(JSON.stringify({ event: 'evaluation', when: event.when, ...event.report }));
            else
              say(
                `train: held-out accuracy ${event.when}: ${(100 * event.report.greedyAccuracy).toFixed(1)}% of ${event.report.queries}`,
              );
            break;
          case 'done': {
            const report = await writeReport(out, {
              ...evaluations,
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
