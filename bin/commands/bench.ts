/** `genius-native bench`: genius-native against the Python reference (transformers, PyTorch), side by side. */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { formatMarkdown, formatProfile, formatTable } from '../../lib/bench/format';
import { RANDOM_ARCHITECTURES, type RandomArchitecture } from '../../lib/bench/bench-model';
import type { PlanOverrides } from '../../lib/bench/plan';
import { WORKLOADS, type WorkloadName } from '../../lib/bench/protocol';
import { runBench, runProfile, type BenchOptions } from '../../lib/bench/run-bench';

interface BenchArgs {
  quick: boolean;
  model?: string;
  arch?: RandomArchitecture;
  layers?: number;
  device: string;
  dtype?: 'float32' | 'bfloat16' | 'float16';
  only?: WorkloadName[];
  threads?: number;
  out: string;
  profile: boolean;
  sweep: boolean;
  repeats?: number;
  prompts?: number;
  samples?: number;
  'max-new-tokens'?: number;
  queries?: number;
  'step-tokens'?: number;
  'final-tokens'?: number;
  pairs?: number;
  'micro-batch'?: number;
  'sequence-length'?: number;
  'logprob-lengths'?: number[];
  'greedy-tokens'?: number;
}

/** The plan sizes given on the command line; yargs leaves the others undefined, and they keep the mode's. */
function overrides(args: BenchArgs): PlanOverrides {
  const defined = <T extends object>(values: T): Partial<T> =>
    Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
  return {
    repeats: args.repeats,
    rollout: defined({ prompts: args.prompts, n: args.samples, maxNewTokens: args['max-new-tokens'] }),
    foresight: defined({
      queries: args.queries,
      maxTokens: args['step-tokens'],
      finalMaxTokens: args['final-tokens'],
    }),
    train: defined({ pairs: args.pairs, microBatch: args['micro-batch'], sequenceLength: args['sequence-length'] }),
    logprobs: defined({ lengths: args['logprob-lengths'] }),
    parity: defined({ greedyTokens: args['greedy-tokens'] }),
  };
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Benchmark genius-native against the Python reference (rollout, foresight, train, lora, parity)',
  builder: (yargs) =>
    yargs
      .option('quick', { type: 'boolean', default: false, describe: 'small sizes: about 3 minutes on 2 CPU cores' })
      .option('model', {
        type: 'string',
        describe: 'Hugging Face model directory with its tokenizer (default: models/default, else a random model)',
      })
      .option('arch', {
        choices: RANDOM_ARCHITECTURES,
        describe: 'benchmark a random model with this architecture\u2019s config shape',
      })
      .conflicts('model', 'arch')
      .option('layers', { type: 'number', describe: 'decoder layers of a random model (quick default 2)' })
      .option('device', { type: 'string', default: 'cpu', describe: 'cpu, cuda or cuda:N' })
      .option('dtype', {
        choices: ['float32', 'bfloat16', 'float16'] as const,
        describe: 'weights of the inference workloads (default float32 on cpu, bfloat16 on cuda)',
      })
      .option('only', {
        choices: WORKLOADS,
        array: true,
        describe:
          'run only these workloads (parity always runs; lora runs train\u2019s steps, which it is set against)',
      })
      .option('threads', { type: 'number', describe: 'intra-op threads of both sides (default: their own default)' })
      .option('out', { type: 'string', default: 'bench-results', describe: 'directory for bench.json and bench.md' })
      .option('profile', {
        type: 'boolean',
        default: false,
        describe: 'instead of comparing: where our time goes, per phase and per op, for each workload',
      })
      .option('sweep', {
        type: 'boolean',
        default: false,
        describe: 'also compare rollout at batch 8 … 128 and training at 4 … 32 pairs per step',
      })
      .option('repeats', { type: 'number', describe: 'measurements per side after the warm-up' })
      .option('prompts', { type: 'number', describe: 'rollout: prompts' })
      .option('samples', { type: 'number', describe: 'rollout: samples per prompt' })
      .option('max-new-tokens', { type: 'number', describe: 'rollout: new tokens per sample' })
      .option('queries', { type: 'number', describe: 'foresight: queries explored' })
      .option('step-tokens', { type: 'number', describe: 'foresight: token limit of each step and rollout' })
      .option('final-tokens', { type: 'number', describe: 'foresight: token limit of each final part' })
      .option('pairs', { type: 'number', describe: 'train and lora: pairs per step' })
      .option('micro-batch', { type: 'number', describe: 'train and lora: pairs per forward' })
      .option('sequence-length', { type: 'number', describe: 'train and lora: tokens per sequence, prompt included' })
      .option('logprob-lengths', { type: 'number', array: true, describe: 'train: lengths of the log-prob stage' })
      .option('greedy-tokens', { type: 'number', describe: 'parity: greedy tokens per prompt' }),
  handler: async (args) => {
    const options: BenchOptions = {
      quick: args.quick,
      model: args.model,
      arch: args.arch,
      layers: args.layers,
      device: args.device,
      dtype: args.dtype,
      only: args.only,
      threads: args.threads,
      sweep: args.sweep,
      overrides: overrides(args),
      log: (message) => console.error(`bench: ${message}`),
    };
    if (args.profile) {
      console.log(formatProfile(await runProfile(options)));
      return;
    }
    const report = await runBench(options);
    fs.mkdirSync(args.out, { recursive: true });
    const jsonFile = path.join(args.out, 'bench.json');
    const markdownFile = path.join(args.out, 'bench.md');
    fs.writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(markdownFile, formatMarkdown(report));
    console.log(formatTable(report));
    console.log(`\nwritten: ${jsonFile}, ${markdownFile}`);
    const invalid = Object.entries(report.workloads).filter(([, workload]) => !workload.valid);
    if (invalid.length > 0) {
      console.error(`bench: INVALID (the two sides disagree): ${invalid.map(([name]) => name).join(', ')}`);
      process.exitCode = 1;
    }
  },
};
