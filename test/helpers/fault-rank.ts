/**
 * A rank of test/faults.test.ts: joins with a timeout of argv[2] seconds, says when it is ready, then sums a
 * tensor with the other ranks over and over until a collective fails, and prints that error as one JSON line.
 */
import { readLaunchEnvironment } from '../../lib/dist/environment';
import { ProcessGroup } from '../../lib/dist/process-group';
import { Tensor } from '../../lib/tensor';

async function main(): Promise<void> {
  using group = await ProcessGroup.join(readLaunchEnvironment()!, { timeoutSeconds: Number(process.argv[2]) });
  using ones = Tensor.from([1], [1]);
  await group.barrier();
  console.log(JSON.stringify({ ready: group.rank }));
  for (;;) await group.allReduce([ones]);
}

main().catch((error: Error & { code?: string }) => {
  console.log(JSON.stringify({ error: error.code, message: error.message }));
  process.exitCode = 1;
});
