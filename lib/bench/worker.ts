/**
 * Our side of `genius-native bench`, run as a child process so that its peak RSS is its own: one workload, set
 * up from the first JSON line on stdin and measured once per further line (lib/bench/protocol.ts). It is the
 * counterpart of bench/python/worker.py and answers in the same JSON lines.
 */
import readline from 'node:readline';
import { Model } from '../model/model';
import { runtimeInfo, setThreads } from '../runtime';
import { Tokenizer } from '../text/tokenizer';
import { version } from '../version';
import { measure } from './measure';
import type { MeasureParams, SetupOf, WorkerWorkload } from './protocol';
import { prepareForesight } from './workloads/foresight';
import type { Loaded, Run } from './workloads/loaded';
import { prepareLogprobs } from './workloads/logprobs';
import { prepareParity } from './workloads/parity';
import { prepareRollout } from './workloads/rollout';
import { prepareTrain } from './workloads/train';

type Prepare<W extends WorkerWorkload> = (setup: SetupOf[W], loaded: Loaded) => Promise<Run<W>>;

const PREPARE: { [W in WorkerWorkload]: Prepare<W> } = {
  rollout: prepareRollout,
  foresight: prepareForesight,
  train: prepareTrain,
  logprobs: prepareLogprobs,
  parity: prepareParity,
};

const emit = (event: object): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

async function serve(): Promise<void> {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) return;
  const request = JSON.parse(first.value) as { workload: WorkerWorkload; setup: SetupOf[WorkerWorkload] };
  const { setup } = request;
  if (setup.threads) setThreads(setup.threads);
  const started = performance.now();
  const loaded: Loaded = { device: setup.device };
  if (setup.model) {
    loaded.model = await Model.load(setup.model, { device: setup.device, dtype: setup.dtype });
    loaded.tokenizer = await Tokenizer.fromDir(setup.model);
  }
  const run = await (PREPARE[request.workload] as Prepare<WorkerWorkload>)(setup, loaded);
  const info = runtimeInfo();
  emit({
    event: 'ready',
    setupSeconds: (performance.now() - started) / 1000,
    threads: info.threads,
    device: setup.device,
    deviceName: null,
    versions: { libtorch: info.torchVersion, 'genius-native': version, node: process.version },
  });
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (line.value.trim() === '') continue;
    // A failed measurement is reported and the next one still runs, as on the Python side.
    try {
      const { record, result } = await measure(() => run(JSON.parse(line.value) as MeasureParams));
      emit({ event: 'measurement', ...record, ...result });
    } catch (error) {
      emit({ event: 'error', message: (error as Error).stack ?? String(error) });
    }
  }
  loaded.model?.dispose();
}

if (require.main === module) {
  serve().catch((error: Error) => {
    emit({ event: 'error', message: error.stack ?? String(error) });
    process.exitCode = 1;
  });
}
