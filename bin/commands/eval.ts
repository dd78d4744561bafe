/** `genius-native eval`: accuracy of a model on labelled queries (greedy, and k samples when asked). */
import type { CommandModule } from 'yargs';
import { Model, Tokenizer, evaluate, evaluationReport, readLabeledQueries, type QueryResult } from '../../lib';
import { writeJsonLines } from '../../lib/data/jsonl';
import { distFlags, joinLaunchedRun, type DistArgs } from '../dist-flags';
import { Interrupt } from '../interrupt';
import { ProgressReporter } from '../progress';
import { adapterFlag, type AdapterArgs } from '../lora-flags';
import { placementFlags, type PlacementArgs } from '../placement-flags';
import { answerFieldFlag, queryFieldFlag } from '../query-field-flags';
import { chatTemplateFlags, chatTemplateKwargsOf, type ChatTemplateFlagArgs } from '../chat-template-flags';

interface EvalArgs extends PlacementArgs, AdapterArgs, ChatTemplateFlagArgs, DistArgs {
  model: string;
  data: string;
  'query-field': string;
  'answer-field': string;
  'n-samples': number;
  temperature: number;
  'max-tokens': number;
  'batch-size': number;
  seed: number;
  out?: string;
  json: boolean;
}

const percent = (share: number): string => `${(100 * share).toFixed(2)}%`;

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Measure answer accuracy on queries with ground-truth responses',
  builder: (yargs) =>
    distFlags(chatTemplateFlags(adapterFlag(placementFlags(yargs)), 'each query is rendered with them'))
      .option('model', { type: 'string', demandOption: true, describe: 'model directory (with its tokenizer)' })
      .option('data', {
        type: 'string',
        demandOption: true,
        describe: 'labeled problems: Parquet, a JSON list or JSON lines (docs/formats.md)',
      })
      .option('query-field', queryFieldFlag('--data'))
      .option('answer-field', answerFieldFlag('--data'))
      .option('n-samples', { type: 'number', default: 0, describe: 'k sampled answers per query besides greedy' })
      .option('temperature', { type: 'number', default: 0.6, describe: 'of the sampled answers' })
      .option('max-tokens', { type: 'number', default: 1024, describe: 'per answer' })
      .option('batch-size', { type: 'number', default: 16, describe: 'queries per native call' })
      .option('seed', { type: 'number', default: 0 })
      .option('out', { type: 'string', describe: 'JSONL of each query’s answers' })
      .option('json', { type: 'boolean', default: false, describe: 'progress and report as JSON lines' }),
  handler: async (args) => {
    const queries = await readLabeledQueries(args.data, {
      queryField: args['query-field'],
      answerField: args['answer-field'],
    });
    const tokenizer = await Tokenizer.fromDir(args.model);
    using group = await joinLaunchedRun(args);
    // The ranks share the queries; rank 0 reports for all.
    const lead = (group?.rank ?? 0) === 0;
    using interrupt = new Interrupt();
    const progress = new ProgressReporter('eval', 'queries', args.json, !lead);
    const results: QueryResult[] = [];
    try {
      using model = await Model.load(args.model, {
        device: args.device,
        dtype: args.dtype,
        adapter: args.adapter,
        signal: interrupt.signal,
      });
      const events = evaluate(model, tokenizer, queries, {
        samples: args['n-samples'],
        temperature: args.temperature,
        maxTokens: args['max-tokens'],
        batchSize: args['batch-size'],
        seed: args.seed,
        chatTemplate: { kwargs: chatTemplateKwargsOf(args) },
        signal: interrupt.signal,
        group,
      });
      for await (const event of events) {
        if (event.type === 'progress') progress.update(event);
        else results.push(event.result);
      }
    } catch (error) {
      if (!interrupt.stopped(error)) throw error;
      progress.stop();
      progress.note(`eval: stopped after ${results.length} of ${queries.length} queries; nothing reported`);
      process.exitCode = 130;
      return;
    } finally {
      progress.stop();
    }
    if (!lead) return;
    if (args.out !== undefined) await writeJsonLines(args.out, results);
    const report = evaluationReport(results);
    if (args.json) {
      console.log(JSON.stringify({ event: 'report', ...report }));
      return;
    }
    const rows: [string, string][] = [
      ['queries', String(report.queries)],
      ['greedy accuracy', percent(report.greedyAccuracy)],
    ];
    const k = report.samples;
    if (k > 0) {
      rows.push(
        ['sample accuracy', `${percent(report.sampleAccuracy!)} (mean over ${k} samples per query)`],
        [`pass@${k}`, percent(report.passAtK!)],
        [`majority@${k}`, percent(report.majorityAccuracy!)],
        [`most confident of ${k}`, `${percent(report.confidentAccuracy!)} (highest mean token log-prob)`],
      );
    }
    const width = Math.max(...rows.map(([key]) => key.length));
    for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${value}`);
  },
};
