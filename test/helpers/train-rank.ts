/**
 * One rank (or a process alone) of test/data-parallel.test.ts's resume check: `optimize` on the embedded model from
 * the library, with the process group of its launch environment when it has one. argv[2] is a JSON object:
 * {model, pairs, out, gradAccum, stopAfter?, shardOptimizer?}. With stopAfter it stops after that many steps (the
 * checkpoint of every step is kept); an `out` that holds a run is resumed.
 */
import fs from 'node:fs';
import { Model, Tokenizer, encodePairs, optimize, readLaunchEnvironment, readPairs } from '../../lib';
import { ProcessGroup } from '../../lib/dist/process-group';

interface Args {
  model: string;
  pairs: string;
  out: string;
  gradAccum: number;
  stopAfter?: number;
  shardOptimizer?: boolean;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as Args;
  const launch = readLaunchEnvironment();
  using group = launch && (await ProcessGroup.join(launch, { timeoutSeconds: 60 }));
  const resume = fs.existsSync(args.out);
  using model = await Model.load(resume ? args.out : args.model);
  const tokenizer = await Tokenizer.fromDir(args.model);
  const { pairs } = encodePairs(tokenizer, (await readPairs(args.pairs)).records, { maxLength: 256 });
  const steps = optimize(model, pairs, {
    lr: 1e-4,
    warmupRatio: 0,
    microBatch: 1,
    gradAccum: args.gradAccum,
    group,
    shardOptimizer: args.shardOptimizer,
    checkpoint: { dir: args.out, every: 1, sourceDir: args.model, resume },
  });
  for await (const step of steps) {
    if (step.step === args.stopAfter) break;
  }
}

main().catch((error: Error & { code?: string }) => {
  console.log(JSON.stringify({ error: error.code, message: error.message }));
  process.exitCode = 1;
});
