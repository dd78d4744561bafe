/**
 * The process group on libtorch's c10d engine: two ranks, as two Node processes on 127.0.0.1, sum, broadcast and
 * gather through Gloo; a bad launch environment, a port in use and peers that never arrive get coded errors that
 * name the variable at fault, within the timeout.
 */
import net from 'node:net';
import path from 'node:path';
import { ErrorCode } from '../lib/errors';
import { readLaunchEnvironment } from '../lib/dist/environment';
import { ProcessGroup } from '../lib/dist/process-group';
import { freePort, launchEnvironment, runRanks } from './helpers/ranks';

const coded = (code: string, message: RegExp): object =>
  expect.objectContaining({ code, message: expect.stringMatching(message) });

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('it did not throw');
}

test('two ranks sum, broadcast and gather over 127.0.0.1', async () => {
  const ranks = await runRanks(path.join(__dirname, 'helpers', 'collectives-rank.ts'), [], 2, 60_000);
  const results = ranks.map((result) => {
    expect(result).toEqual(expect.objectContaining({ status: 0, signal: null }));
    return JSON.parse(result.stdout);
  });
  for (const [rank, result] of results.entries()) {
    expect(result.rank).toBe(rank);
    expect(result.size).toBe(2);
    // Rank r contributed [r + 1, 10(r + 1)] and [[r / 2]].
    expect(result.sum).toEqual([1 + 2, 10 + 20]);
    expect(result.sumOfOne).toEqual([0 + 0.5]);
    // The last rank's [1, 1, 1].
    expect(result.broadcast).toEqual([1, 1, 1]);
    // Rank r sent r + 1 rows of 100r, 100r + 1, ...: the rows differ in number and come back in rank order.
    expect(result.gathered).toEqual([
      { shape: [1, 2], values: [0, 1] },
      { shape: [2, 2], values: [100, 101, 102, 103] },
    ]);
    expect(result.json).toEqual([
      { rank: 0, text: '' },
      { rank: 1, text: 'é' },
    ]);
  }
});

describe('the launch environment', () => {
  const env = launchEnvironment(1, 2, 29500);

  it("is torchrun's variables, checked", () => {
    expect(readLaunchEnvironment(env)).toEqual({
      rank: 1,
      worldSize: 2,
      localRank: 1,
      localWorldSize: 2,
      masterAddr: '127.0.0.1',
      masterPort: 29500,
      agentStore: false,
      restartCount: 0,
    });
    expect(readLaunchEnvironment({ PATH: '/bin' })).toBeUndefined();
  });

  it('names the variable that is missing, not an integer or out of range', () => {
    for (const name of ['WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT']) {
      const missing = { ...env };
      delete missing[name];
      expect(thrown(() => readLaunchEnvironment(missing))).toEqual(
        coded(ErrorCode.DistEnv, new RegExp(`${name} is not set`)),
      );
    }
    expect(thrown(() => readLaunchEnvironment({ ...env, RANK: '2' }))).toEqual(
      coded(ErrorCode.DistEnv, /RANK=2 must be an integer in \[0, 1\]/),
    );
    expect(thrown(() => readLaunchEnvironment({ ...env, WORLD_SIZE: 'two' }))).toEqual(
      coded(ErrorCode.DistEnv, /WORLD_SIZE=two must be an integer/),
    );
    expect(thrown(() => readLaunchEnvironment({ ...env, LOCAL_WORLD_SIZE: '3' }))).toEqual(
      coded(ErrorCode.DistEnv, /LOCAL_WORLD_SIZE=3 must be an integer in \[1, 2\]/),
    );
    expect(thrown(() => readLaunchEnvironment({ ...env, MASTER_PORT: '70000' }))).toEqual(
      coded(ErrorCode.DistEnv, /MASTER_PORT=70000 must be an integer in \[1, 65535\]/),
    );
  });
});

describe('joining', () => {
  const launch = (rank: number, port: number): NonNullable<ReturnType<typeof readLaunchEnvironment>> =>
    readLaunchEnvironment(launchEnvironment(rank, 2, port))!;

  it('names MASTER_PORT when another program holds it', async () => {
    const server = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, resolve));
    try {
      await expect(ProcessGroup.join(launch(0, port), { timeoutSeconds: 5 })).rejects.toEqual(
        coded(ErrorCode.DistRendezvous, new RegExp(`MASTER_PORT=${port} is in use`)),
      );
    } finally {
      server.close();
    }
  });

  it('names WORLD_SIZE when the other ranks never arrive, once the timeout has passed', async () => {
    await expect(ProcessGroup.join(launch(0, await freePort()), { timeoutSeconds: 2 })).rejects.toEqual(
      coded(ErrorCode.DistRendezvous, /WORLD_SIZE=2: not every rank reached rank 0's store/),
    );
  });

  it('names MASTER_ADDR and MASTER_PORT when rank 0 never answers', async () => {
    const port = await freePort();
    await expect(ProcessGroup.join(launch(1, port), { timeoutSeconds: 2 })).rejects.toEqual(
      coded(ErrorCode.DistRendezvous, new RegExp(`store at MASTER_ADDR=127.0.0.1 MASTER_PORT=${port} did not answer`)),
    );
  });
});
