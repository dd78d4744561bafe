/**
 * One rank of test/process-group.test.ts: joins the group from the launch environment, runs each collective on
 * values that depend on its rank, and prints what it got as one JSON line.
 */
import { readLaunchEnvironment } from '../../lib/dist/environment';
import { ProcessGroup } from '../../lib/dist/process-group';
import { Tensor } from '../../lib/tensor';

async function main(): Promise<void> {
  const launch = readLaunchEnvironment()!;
  using group = await ProcessGroup.join(launch, { timeoutSeconds: 30 });
  const { rank } = group;
  using a = Tensor.from([rank + 1, 10 * (rank + 1)], [2]);
  using b = Tensor.from([0.5 * rank], [1, 1], { dtype: 'float32' });
  await group.allReduce([a, b]);
  using shared = Tensor.from([rank, rank, rank], [3], { dtype: 'int64' });
  await group.broadcast(shared, group.size - 1);
  using mine = Tensor.from(
    Array.from({ length: 2 * (rank + 1) }, (_, i) => 100 * rank + i),
    [rank + 1, 2],
  );
  const gathered = await group.allGather(mine);
  const json = await group.allGatherJson({ rank, text: 'é'.repeat(rank) });
  await group.barrier();
  console.log(
    JSON.stringify({
      rank,
      size: group.size,
      sum: Array.from(a.toArray() as Float32Array),
      sumOfOne: Array.from(b.toArray() as Float32Array),
      broadcast: Array.from(shared.toArray() as BigInt64Array, Number),
      gathered: gathered.map((tensor) => ({
        shape: tensor.shape,
        values: Array.from(tensor.toArray() as Float32Array),
      })),
      json,
    }),
  );
  gathered.forEach((tensor) => tensor.dispose());
}

main().catch((error: Error & { code?: string }) => {
  console.log(JSON.stringify({ error: error.code, message: error.message }));
  process.exitCode = 1;
});
